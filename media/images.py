"""Photos: what others download is decoded and saved again with nothing but its pixels (no EXIF,
XMP, GPS, camera serial or comments, in every kind: a still, an MPO's extra frames dropped, an
animation kept animated), turned upright; a small JPEG thumbnail and a blurhash go with it. Huge
pixel counts are refused before any pixel is decoded (decompression bombs)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, ImageSequence

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
    served: bytes  # the bytes to store instead of the upload's
    thumbnail: bytes
    blurhash: str


def open_checked(path: Path, mime: str, max_pixels: int) -> Image.Image:
    """Opens the image (header only) and refuses what is not what its bytes claimed or too big.
    An animation counts the pixels of all its frames: each one is decoded and held."""
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
    if _is_animation(image) and width * height * _frame_count(image) > max_pixels:
        image.close()
        raise ImageRefused("image_too_large", f"The animation has more than {max_pixels} pixels over its frames.")
    return image


def _frame_count(image: Image.Image) -> int:
    try:
        return getattr(image, "n_frames", 1)
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageRefused("bad_image", "The image cannot be read.") from None


def _is_animation(image: Image.Image) -> bool:
    """MPO (a JPEG with more images after it: Ultra HDR gain maps, stereo pairs) is one photo."""
    return image.format != "MPO" and _frame_count(image) > 1


def _flat_rgb(image: Image.Image) -> Image.Image:
    """RGB over white, for JPEG (which has no transparency)."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
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
        image.close()
        raise ImageRefused("bad_image", "The image cannot be read.") from None
    return image


def process_image(path: Path, mime: str, max_pixels: int) -> ImageInfo:
    with _decode(path, mime, max_pixels) as image:
        if _is_animation(image):
            first, served = _animation_without_metadata(image, mime)
        else:
            first = _upright_still(image)
            served = _still_without_metadata(first, image.info.get("icc_profile"), mime)
        width, height = first.size
        preview = _preview(first)
        return ImageInfo(width, height, served, _jpeg(preview, 70), blurhash.encode(preview))


def _upright_still(image: Image.Image) -> Image.Image:
    """The first image (an MPO's primary photo), turned by its EXIF orientation, in place: a
    copy of a 32-megapixel photo would double what it holds."""
    upright = ImageOps.exif_transpose(image, in_place=True)
    return image if upright is None else upright


def _preview(image: Image.Image) -> Image.Image:
    scale = min(1.0, THUMBNAIL_SIDE / max(image.size))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    source = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert("RGBA")
    return source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _clean(image: Image.Image) -> Image.Image:
    """The pixels alone: saving never reads metadata from a fresh image's empty `info`."""
    image.info = {}
    return image


def _still_without_metadata(upright: Image.Image, icc_profile: bytes | None, mime: str) -> bytes:
    """The image saved again with nothing but its pixels and its colour profile."""
    out = io.BytesIO()
    options = {"icc_profile": icc_profile} if icc_profile else {}
    transparency = upright.info.get("transparency")
    if transparency is not None and mime in ("image/png", "image/gif"):
        options["transparency"] = transparency
    upright = _clean(upright)
    if mime == "image/jpeg":
        same_mode = upright.mode in ("RGB", "L", "CMYK")  # a CMYK profile stays with CMYK pixels
        (upright if same_mode else _flat_rgb(upright)).save(out, "JPEG", quality=90, optimize=True, **options)
    elif mime == "image/png":
        upright.save(out, "PNG", **options)
    elif mime == "image/gif":
        upright.save(out, "GIF", **options)
    else:
        upright.save(out, "WEBP", quality=90, **options)
    return out.getvalue()


def _animation_without_metadata(image: Image.Image, mime: str) -> tuple[Image.Image, bytes]:
    """Every frame, as the viewer sees it (composited), saved again with its timing and the
    loop count: nothing else of the file survives."""
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration") or 100))
        frames.append(_clean(frame.convert("RGBA")))
    loop = int(image.info.get("loop", 0) or 0)
    kind = {"image/png": "PNG", "image/gif": "GIF"}.get(mime, "WEBP")
    options = {"quality": 90} if kind == "WEBP" else {}
    out = io.BytesIO()
    frames[0].save(out, kind, save_all=True, append_images=frames[1:], duration=durations, loop=loop, **options)
    return frames[0], out.getvalue()


def avatar_sizes(path: Path, mime: str, max_pixels: int) -> dict[int, bytes]:
    """The photo cut to a centred square, as JPEG at each avatar size."""
    with _decode(path, mime, max_pixels) as image:
        upright = _upright_still(image)
        side = min(upright.size)
        square = ImageOps.fit(upright, (side, side))
        return {size: _jpeg(square.resize((size, size), Image.Resampling.LANCZOS), 85) for size in AVATAR_SIZES}
