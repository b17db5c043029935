"""Photos: what others download is re-encoded without EXIF (no GPS, no camera serial), turned
upright; a small JPEG thumbnail and a blurhash go with it. Huge pixel counts are refused before
any pixel is decoded (decompression bombs)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from media import blurhash

THUMBNAIL_SIDE = 320
AVATAR_SIZES = (64, 256, 640)
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


class ImageRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ImageInfo:
    width: int
    height: int
    served: bytes | None  # the bytes to store instead of the upload; None keeps the upload's
    thumbnail: bytes
    blurhash: str


def open_checked(path: Path, mime: str, max_pixels: int) -> Image.Image:
    """Opens the image (header only) and refuses what is not what its bytes claimed or too big."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=[FORMATS[mime]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("image_too_large", "The image has too many pixels.") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRefused("bad_image", "The image cannot be read.") from None
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        image.close()
        raise ImageRefused("image_too_large", f"The image has more than {max_pixels} pixels.")
    return image


def _flat_rgb(image: Image.Image) -> Image.Image:
    """RGB over white, for JPEG (which has no transparency)."""
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    _flat_rgb(image).save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _decode(path: Path, mime: str, max_pixels: int) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = max_pixels
    image = open_checked(path, mime, max_pixels)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRefused("bad_image", "The image cannot be read.") from None
    return image


def process_image(path: Path, mime: str, max_pixels: int) -> ImageInfo:
    with _decode(path, mime, max_pixels) as image:
        animated = getattr(image, "is_animated", False)
        served = None
        if animated or mime == "image/gif":
            upright = image.copy()  # the first frame; GIFs carry no EXIF, animations stay as sent
        else:
            upright = ImageOps.exif_transpose(image)
            served = _without_metadata(upright, image, mime)
        width, height = upright.size
        preview = upright.copy()
        preview.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        return ImageInfo(width, height, served, _jpeg(preview, 70), blurhash.encode(preview))


def _without_metadata(upright: Image.Image, original: Image.Image, mime: str) -> bytes:
    """The image saved again with nothing but its pixels and its colour profile."""
    out = io.BytesIO()
    options = {}
    profile = original.info.get("icc_profile")
    if profile:
        options["icc_profile"] = profile
    if mime == "image/jpeg":
        upright.save(out, "JPEG", quality=90, optimize=True, **options)
    elif mime == "image/png":
        upright.save(out, "PNG", **options)
    else:
        upright.save(out, "WEBP", quality=90, **options)
    return out.getvalue()


def avatar_sizes(path: Path, mime: str, max_pixels: int) -> dict[int, bytes]:
    """The photo cut to a centred square, as JPEG at each avatar size."""
    with _decode(path, mime, max_pixels) as image:
        upright = ImageOps.exif_transpose(image)
        side = min(upright.size)
        square = ImageOps.fit(upright, (side, side))
        return {size: _jpeg(square.resize((size, size), Image.Resampling.LANCZOS), 85) for size in AVATAR_SIZES}
