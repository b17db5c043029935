"""MP4 and QuickTime files (video, and audio in the same boxes) lose their metadata on the server
as they do in the sender's browser (public/prepare.js): the boxes that hold it rather than the film
(`udta`: the place it was filmed and the camera; `meta`: Apple's location key, XMP; `uuid`: XMP), at
the top, in `moov` and in each `trak`, become `free` boxes of the same size with zeroed contents.
Nothing moves, so the offsets into `mdat` stay right and the file plays as before. Blocking."""

from __future__ import annotations

import struct
from pathlib import Path

METADATA = frozenset({b"udta", b"meta", b"uuid"})
CONTAINERS = frozenset({b"moov", b"trak"})
ZEROS = bytes(1 << 16)


def blank_metadata(path: Path) -> int:
    """Blanks the metadata boxes of the file in place; answers how many there were."""
    with open(path, "r+b") as handle:
        end = handle.seek(0, 2)
        handle.seek(4)
        if handle.read(4) != b"ftyp":
            return 0
        return _walk(handle, 0, end, 0)


def _walk(handle, start: int, end: int, depth: int) -> int:
    blanked = 0
    at = start
    while at + 8 <= end:
        handle.seek(at)
        size, kind = struct.unpack(">I4s", handle.read(8))
        header = 8
        if size == 1:
            if at + 16 > end:
                break
            (size,) = struct.unpack(">Q", handle.read(8))
            header = 16
        elif size == 0:
            size = end - at  # to the end of the file
        if size < header or at + size > end:
            break  # not a box: the rest stays as it is
        if kind in METADATA:
            handle.seek(at + 4)
            handle.write(b"free")
            handle.seek(at + header)
            left = size - header
            while left:
                left -= handle.write(ZEROS[: min(left, len(ZEROS))])
            blanked += 1
        elif kind in CONTAINERS and depth < 2:
            blanked += _walk(handle, at + header, at + size, depth + 1)
        at += size
    return blanked
