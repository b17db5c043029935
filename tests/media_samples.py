"""Sample media made in the tests: photos with EXIF and GPS, Ogg Opus and WebM voice notes,
a decompression bomb's header. Opus packets are stand-ins (no encoder here); the containers are real."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

from PIL import Image

# ---- photos ------------------------------------------------------------------------------------

GPS_IFD = 0x8825


def jpeg_with_gps(width: int = 640, height: int = 480, orientation: int = 1) -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(0, width, 16):
        for y in range(0, height, 16):
            image.paste(((x * 7) % 256, (y * 5) % 256, 128), (x, y, x + 16, y + 16))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = orientation
    exif[GPS_IFD] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (51.0, 23.0, 20.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=85)
    return out.getvalue()


SERIAL = "SN-4471-PRIVATE"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="35,41.37N"'
    f' exif:GPSLongitude="51,23.33E" exif:BodySerialNumber="{SERIAL}"/></rdf:RDF></x:xmpmeta>'
).encode()
# What must never reach anyone who downloads the photo.
SECRETS = (b"PhoneMaker", SERIAL.encode(), b"GPSLatitude", b"35,41.37N")


def revealing_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = orientation
    exif[0xA431] = SERIAL  # BodySerialNumber
    exif[GPS_IFD] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (51.0, 23.0, 20.0)}
    return exif.tobytes()


def _frames(count: int, size: tuple[int, int] = (96, 64)) -> list[Image.Image]:
    return [Image.new("RGBA", size, ((70 * n) % 256, 40, 200 - 30 * n, 255)) for n in range(count)]


def mpo_with_gps() -> bytes:
    """A JPEG with a second image after it (as Ultra HDR photos carry their gain map), EXIF on both."""
    primary, gain_map = (frame.convert("RGB") for frame in _frames(2, (320, 240)))
    out = io.BytesIO()
    primary.save(out, "MPO", save_all=True, append_images=[gain_map], exif=revealing_exif(), xmp=XMP)
    return out.getvalue()


def animated_webp_with_gps() -> bytes:
    first, *rest = _frames(3)
    out = io.BytesIO()
    first.save(out, "WEBP", save_all=True, append_images=rest, duration=120, loop=0, exif=revealing_exif(), xmp=XMP)
    return out.getvalue()


def animated_png_with_gps() -> bytes:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    text.add_text("Comment", f"camera {SERIAL}")
    first, *rest = _frames(3)
    out = io.BytesIO()
    first.save(out, "PNG", save_all=True, append_images=rest, duration=120, loop=0, exif=revealing_exif(), pnginfo=text)
    return out.getvalue()


def animated_gif_with_comment() -> bytes:
    first, *rest = (frame.convert("RGB") for frame in _frames(3))
    out = io.BytesIO()
    first.save(out, "GIF", save_all=True, append_images=list(rest), duration=120, loop=0, comment=XMP)
    return out.getvalue()


def png_with_gps() -> bytes:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    _frames(1, (200, 100))[0].save(out, "PNG", exif=revealing_exif(), pnginfo=text)
    return out.getvalue()


def webp_with_gps() -> bytes:
    out = io.BytesIO()
    _frames(1, (200, 100))[0].save(out, "WEBP", exif=revealing_exif(), xmp=XMP)
    return out.getvalue()


def jpeg_with_xmp_and_comment() -> bytes:
    out = io.BytesIO()
    _frames(1, (200, 100))[0].convert("RGB").save(
        out, "JPEG", exif=revealing_exif(), xmp=XMP, comment=f"camera {SERIAL}".encode()
    )
    return out.getvalue()


def black_png(side: int) -> bytes:
    """A big black photo that compresses to almost nothing (a 7070-pixel square is 142 KiB)."""
    out = io.BytesIO()
    Image.new("RGB", (side, side)).save(out, "PNG")
    return out.getvalue()


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A PNG whose header claims billions of pixels (the data is cut short: it is never decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 65536)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


# ---- Ogg Opus ----------------------------------------------------------------------------------


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def _ogg_page(packets: list[bytes], granule: int, serial: int, sequence: int, flags: int) -> bytes:
    lacing = b""
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, sequence, 0, len(lacing))
    page = header + lacing + b"".join(packets)
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def ogg_opus(duration_ms: int, pre_skip: int = 312, loud_from: float = 0.5) -> bytes:
    """An Ogg Opus stream of 20 ms packets; quiet (small packets) then loud (large ones)."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, pre_skip, 48000, 0, 0)
    tags = b"OpusTags" + struct.pack("<I", 4) + b"test" + struct.pack("<I", 0)
    serial = 0x5A5A
    pages = [_ogg_page([head], 0, serial, 0, 0x02), _ogg_page([tags], 0, serial, 1, 0)]
    frames = duration_ms // 20
    granule = pre_skip
    sequence = 2
    for start in range(0, frames, 50):
        batch = []
        for index in range(start, min(frames, start + 50)):
            size = 120 if index >= frames * loud_from else 8
            batch.append(b"\xfc" + bytes(size - 1))
        granule += 960 * len(batch)
        last = start + 50 >= frames
        pages.append(_ogg_page(batch, granule, serial, sequence, 0x04 if last else 0))
        sequence += 1
    return b"".join(pages)


# ---- WebM, as MediaRecorder writes it -------------------------------------------------------------


def _ebml_size(size: int | None) -> bytes:
    if size is None:
        return b"\x01\xff\xff\xff\xff\xff\xff\xff"  # unknown size
    return bytes([0x10]) + size.to_bytes(3, "big")


def _element(element_id: int, payload: bytes) -> bytes:
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + _ebml_size(len(payload)) + payload


def webm_opus(duration_ms: int) -> bytes:
    header = _element(0x1A45DFA3, _element(0x4282, b"webm") + _element(0x4287, b"\x04"))
    info = _element(0x1549A966, _element(0x2AD7B1, (1_000_000).to_bytes(3, "big")))
    track = _element(0xAE, _element(0xD7, b"\x01") + _element(0x86, b"A_OPUS") + _element(0x83, b"\x02"))
    tracks = _element(0x1654AE6B, track)
    clusters = b""
    for cluster_start in range(0, duration_ms, 1000):
        blocks = b""
        for time in range(cluster_start, min(duration_ms, cluster_start + 1000), 20):
            frame = b"\xfc" + bytes(60)
            blocks += _element(0xA3, b"\x81" + struct.pack(">h", time - cluster_start) + b"\x80" + frame)
        timecode = _element(0xE7, cluster_start.to_bytes(4, "big"))
        clusters += b"\x1f\x43\xb6\x75" + _ebml_size(None) + timecode + blocks
    segment = b"\x18\x53\x80\x67" + _ebml_size(None) + info + tracks + clusters
    return header + segment


def windows_exe() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200) + b"This program cannot be run"


def unique_bytes(size: int) -> bytes:
    """Text bytes no other test uploads (so content addressing does not merge them)."""
    seed = uuid.uuid4().hex.encode()
    return (seed * (size // len(seed) + 1))[:size]


# ---- an MP4 as a phone writes it -------------------------------------------------------------

MP4_PLACE = b"+35.6892+051.3890/"  # Tehran, as a phone writes it (ISO 6709)
MP4_APPLE_PLACE = b"com.apple.quicktime.location.ISO6709"
MP4_SECRETS = (MP4_PLACE, MP4_APPLE_PLACE, b"<x:xmpmeta>", b"\xa9xyz")
MP4_FILM = bytes(range(256)) * 64


def mp4_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def phone_mp4() -> bytes:
    """The layout of a phone's MP4: the place in moov/udta (©xyz), in moov/meta (Apple's key) and in a
    track's udta; XMP in a top-level uuid box; the film in mdat, last."""
    place = mp4_box(b"\xa9xyz", struct.pack(">HH", len(MP4_PLACE), 0x15C7) + MP4_PLACE)
    moov = mp4_box(
        b"moov",
        mp4_box(b"mvhd", bytes(100))
        + mp4_box(b"udta", place)
        + mp4_box(b"meta", bytes(4) + mp4_box(b"keys", MP4_APPLE_PLACE) + mp4_box(b"ilst", MP4_PLACE))
        + mp4_box(b"trak", mp4_box(b"tkhd", bytes(84)) + mp4_box(b"udta", place) + mp4_box(b"mdia", bytes(32))),
    )
    xmp = mp4_box(b"uuid", bytes.fromhex("be7acfcb97a942e89c71999491e3afac") + b"<x:xmpmeta>" + MP4_PLACE)
    return mp4_box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + xmp + mp4_box(b"mdat", MP4_FILM)
