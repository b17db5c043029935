"""BlurHash encoding (the published algorithm: a few cosine components in base 83), on Pillow images.

Small enough to own: the image is first shrunk to a few dozen pixels, so pure Python is quick.
"""

from __future__ import annotations

import math

from PIL import Image

BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
SAMPLE_SIDE = 32


def _base83(value: int, length: int) -> str:
    return "".join(BASE83[(value // 83 ** (length - 1 - place)) % 83] for place in range(length))


def _to_linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _to_srgb(value: float) -> int:
    value = min(1.0, max(0.0, value))
    if value <= 0.0031308:
        return int(value * 12.92 * 255 + 0.5)
    return int((1.055 * value ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _signed_sqrt(value: float) -> float:
    return math.copysign(abs(value) ** 0.5, value)


def encode(image: Image.Image, x_components: int = 4, y_components: int = 3) -> str:
    sample = image.convert("RGB")
    sample.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE))
    width, height = sample.size
    raw = sample.tobytes()
    linear = [(_to_linear(raw[i]), _to_linear(raw[i + 1]), _to_linear(raw[i + 2])) for i in range(0, len(raw), 3)]
    factors = []
    for j in range(y_components):
        cos_y = [math.cos(math.pi * j * y / height) for y in range(height)]
        for i in range(x_components):
            cos_x = [math.cos(math.pi * i * x / width) for x in range(width)]
            r = g = b = 0.0
            for y in range(height):
                row = y * width
                for x in range(width):
                    basis = cos_x[x] * cos_y[y]
                    pixel = linear[row + x]
                    r += basis * pixel[0]
                    g += basis * pixel[1]
                    b += basis * pixel[2]
            scale = (1 if i == 0 and j == 0 else 2) / (width * height)
            factors.append((r * scale, g * scale, b * scale))
    dc, ac = factors[0], factors[1:]
    parts = [_base83((x_components - 1) + (y_components - 1) * 9, 1)]
    if ac:
        actual_max = max(abs(c) for factor in ac for c in factor)
        quantised_max = int(max(0, min(82, math.floor(actual_max * 166 - 0.5))))
        maximum = (quantised_max + 1) / 166
        parts.append(_base83(quantised_max, 1))
    else:
        maximum = 1.0
        parts.append(_base83(0, 1))
    parts.append(_base83((_to_srgb(dc[0]) << 16) + (_to_srgb(dc[1]) << 8) + _to_srgb(dc[2]), 4))
    for factor in ac:
        r, g, b = (int(max(0, min(18, math.floor(_signed_sqrt(c / maximum) * 9 + 9.5)))) for c in factor)
        parts.append(_base83(r * 19 * 19 + g * 19 + b, 2))
    return "".join(parts)
