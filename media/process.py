"""A finished upload becomes a file: its kind told from all of its bytes, photos cleaned and
previewed, videos' metadata boxes blanked (media/video.py), voice notes measured, and the bytes
moved into the content-addressed store. A kind not told, and any upload sealed end to end, is kept
as it came: opaque bytes (sniff.OPAQUE)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from media import audio, images, sniff, video
from media.blobs import BlobStore

MP4_TYPES = frozenset({"video/mp4", "audio/mp4"})


class Refused(Exception):
    """The upload cannot become a file: `status` and `code` say why."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class FinishedFile:
    sha256: str
    name: str
    mime: str
    size: int
    details: dict = field(default_factory=dict)  # width, height, duration_ms, waveform, blurhash
    thumbnail_sha256: str | None = None


def is_image(partial: Path, name: str, encrypted: bool) -> bool:
    """Blocking: whether the upload's first bytes say it is a photo (decoded in turn)."""
    if encrypted:
        return False
    with open(partial, "rb") as handle:
        head = handle.read(sniff.HEAD_BYTES)
    return sniff.sniff(head, name, complete=len(head) < sniff.HEAD_BYTES) in sniff.IMAGE_TYPES


def finish(blobs: BlobStore, partial: Path, name: str, max_pixels: int, encrypted: bool = False) -> FinishedFile:
    """Blocking: run it in a worker thread. The partial file is consumed whatever happens."""
    try:
        return _finish(blobs, partial, name, max_pixels, encrypted)
    finally:
        partial.unlink(missing_ok=True)


def kind_of(partial: Path, name: str) -> str:
    """Blocking: the media type all of the file's bytes say it is, OPAQUE when none."""
    size = partial.stat().st_size
    with open(partial, "rb") as handle:
        head = handle.read(sniff.HEAD_BYTES)
    mime = sniff.sniff(head, name, complete=size <= len(head))
    if mime is None or (mime == "text/plain" and not sniff.is_utf8_file(partial)):
        return sniff.OPAQUE
    return mime


def _finish(blobs: BlobStore, partial: Path, name: str, max_pixels: int, encrypted: bool) -> FinishedFile:
    # Ciphertext is never looked into: its name and size are all the server knows of it.
    mime = sniff.OPAQUE if encrypted else kind_of(partial, name)
    name = sniff.download_name(name, mime)
    details: dict = {}
    thumbnail_sha256 = None
    if mime in sniff.IMAGE_TYPES:
        try:
            info = images.process_image(partial, mime, max_pixels)
        except images.ImageRefused as refusal:
            raise Refused(422, refusal.code, refusal.message) from None
        details = {"width": info.width, "height": info.height, "blurhash": info.blurhash}
        thumbnail_sha256, _ = blobs.put_bytes(info.thumbnail)
        partial.write_bytes(info.served)
    elif mime in MP4_TYPES:
        video.blank_metadata(partial)  # where a phone writes the place it was filmed
    elif mime in sniff.VOICE_TYPES:
        try:
            with open(partial, "rb") as handle:
                voice = audio.read_voice(handle, mime)
        except (audio.NotVoice, OSError, ValueError, IndexError) as error:
            raise Refused(422, "bad_audio", f"The audio cannot be read: {error}.") from None
        details = {"duration_ms": voice.duration_ms, "waveform": voice.waveform}
    sha256, stored_size = blobs.put_file(partial)
    return FinishedFile(sha256, name, mime, stored_size, details, thumbnail_sha256)


def avatar(blobs: BlobStore, path: Path, mime: str, max_pixels: int) -> dict[int, str]:
    """Blocking: the avatar sizes of a stored photo, stored too; size -> hash."""
    try:
        sizes = images.avatar_sizes(path, mime, max_pixels)
    except images.ImageRefused as refusal:
        raise Refused(422, refusal.code, refusal.message) from None
    return {size: blobs.put_bytes(data)[0] for size, data in sizes.items()}
