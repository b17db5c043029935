"""Draws the app icons (a white speech bubble on blue) as PNGs, with only the standard library.

Run from this folder: python3 make_icons.py
"""

import struct
import zlib

BLUE_TOP = (52, 144, 236)
BLUE_BOTTOM = (30, 100, 180)
WHITE = (255, 255, 255)
SAMPLES = 3  # supersampling per axis, for smooth edges


def png(path: str, size: int, pixels: list[bytes]) -> None:
    raw = b"".join(b"\x00" + row for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    with open(path, "wb") as out:
        out.write(
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
        )


def in_bubble(x: float, y: float) -> bool:
    """The bubble in unit coordinates (-1..1): an ellipse with a tail at the lower left."""
    if (x / 0.78) ** 2 + ((y + 0.06) / 0.62) ** 2 <= 1:
        return True
    # the tail: a triangle below the ellipse
    ax, ay, bx, by, cx, cy = -0.55, 0.25, -0.15, 0.5, -0.7, 0.78
    d1 = (x - bx) * (ay - by) - (ax - bx) * (y - by)
    d2 = (x - cx) * (by - cy) - (bx - cx) * (y - cy)
    d3 = (x - ax) * (cy - ay) - (cx - ax) * (y - ay)
    return (d1 < 0) == (d2 < 0) == (d3 < 0)


def in_dot(x: float, y: float) -> bool:
    return any((x - cx) ** 2 + (y + 0.06) ** 2 <= 0.11**2 for cx in (-0.38, 0.0, 0.38))


def in_rounded_square(x: float, y: float, radius: float) -> bool:
    qx, qy = abs(x) - (1 - radius), abs(y) - (1 - radius)
    if qx <= 0 or qy <= 0:
        return abs(x) <= 1 and abs(y) <= 1
    return qx * qx + qy * qy <= radius * radius


def draw(size: int, scale: float, corner: float | None) -> list[bytes]:
    rows = []
    for py in range(size):
        row = bytearray()
        for px in range(size):
            colour = [0.0, 0.0, 0.0]
            alpha = 0.0
            for sy in range(SAMPLES):
                for sx in range(SAMPLES):
                    x = ((px + (sx + 0.5) / SAMPLES) / size) * 2 - 1
                    y = ((py + (sy + 0.5) / SAMPLES) / size) * 2 - 1
                    if corner is not None and not in_rounded_square(x, y, corner):
                        continue
                    t = (y + 1) / 2
                    fill = [BLUE_TOP[i] * (1 - t) + BLUE_BOTTOM[i] * t for i in range(3)]
                    bx, by = x / scale, y / scale
                    if in_bubble(bx, by) and not in_dot(bx, by):
                        fill = WHITE
                    colour = [colour[i] + fill[i] for i in range(3)]
                    alpha += 1
            n = SAMPLES * SAMPLES
            if alpha:
                row += bytes(round(c / alpha) for c in colour) + bytes([round(255 * alpha / n)])
            else:
                row += b"\x00\x00\x00\x00"
        rows.append(bytes(row))
    return rows


if __name__ == "__main__":
    png("icon-192.png", 192, draw(192, 0.72, 0.22))
    png("icon-512.png", 512, draw(512, 0.72, 0.22))
    png("icon-maskable-512.png", 512, draw(512, 0.55, None))
