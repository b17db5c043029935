"""What a file is, told from its first bytes (magic numbers), never from its name.

Only the kinds listed here have an answer; anything else is kept as opaque bytes (OPAQUE), served
as a download only.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

HEAD_BYTES = 4096  # enough for every signature below, and for a WebM's track list
# A Matroska CodecID element (0x86, then its size in 1 to 4 bytes) naming a video codec.
VIDEO_CODEC_ID = re.compile(rb"\x86(?:[\x80-\xff]|[\x40-\x7f].|[\x20-\x3f]..|[\x10-\x1f]...)V_", re.DOTALL)

ZIP_DOCUMENTS = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".epub": "application/epub+zip",
}

OPAQUE = "application/octet-stream"  # a kind not told here, or a file sealed end to end
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
VOICE_TYPES = frozenset({"audio/ogg", "audio/webm"})
INLINE_TYPES = IMAGE_TYPES | VOICE_TYPES | {"video/webm", "video/mp4", "audio/mp4", "audio/mpeg"}

# The name's extension for each kind, so a download is named for what it is.
EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "application/zip": (".zip",),
    "audio/ogg": (".ogg", ".opus", ".oga"),
    "audio/webm": (".webm", ".weba"),
    "video/webm": (".webm",),
    "video/mp4": (".mp4", ".m4v", ".mov"),
    "audio/mp4": (".m4a", ".mp4"),
    "audio/mpeg": (".mp3",),
    "text/plain": (".txt", ".text", ".md", ".csv", ".log"),
    **{mime: (extension,) for extension, mime in ZIP_DOCUMENTS.items()},
}


def _is_mp3(head: bytes) -> bool:
    if head.startswith(b"ID3"):
        return True
    # An MPEG audio frame header: 11 sync bits, a known version and layer, a usable bitrate.
    return (
        len(head) >= 4
        and head[0] == 0xFF
        and head[1] & 0xE0 == 0xE0
        and head[1] & 0x18 != 0x08
        and head[1] & 0x06 != 0
        and head[2] & 0xF0 != 0xF0
    )


def _is_text(head: bytes, complete: bool) -> bool:
    if b"\x00" in head:
        return False
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=complete)  # a character cut at the end of the head is fine
    except UnicodeDecodeError:
        return False
    return True


def sniff(head: bytes, name: str = "", complete: bool = False) -> str | None:
    """The media type of a file starting with `head`, or None when it is no kind told here.
    `complete` says the head is the whole file."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return ZIP_DOCUMENTS.get(Path(name).suffix.lower(), "application/zip")
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" not in head[:64]:
            return None
        return "video/webm" if VIDEO_CODEC_ID.search(head) else "audio/webm"
    if head[4:8] == b"ftyp":
        return "audio/mp4" if head[8:11] == b"M4A" else "video/mp4"
    if _is_mp3(head):
        return "audio/mpeg"
    if head and _is_text(head, complete):
        return "text/plain"
    return None


def is_utf8_file(path: Path, chunk_size: int = 1 << 20) -> bool:
    """Whether the whole file is UTF-8 text without NUL bytes (read in chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            if b"\x00" in chunk:
                return False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def download_name(name: str, mime: str) -> str:
    """The name, with an extension that matches what the bytes are."""
    extensions = EXTENSIONS.get(mime, ())
    if not extensions or Path(name).suffix.lower() in extensions:
        return name
    return f"{Path(name).stem or 'file'}{extensions[0]}"
