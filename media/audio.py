"""Voice notes: duration and a small waveform, read from the container without decoding audio.

Opus cannot be decoded here without a native codec, so the waveform is drawn from the sizes
of the Opus packets: a variable-bitrate encoder spends more bytes on louder, busier sound and
almost none on silence, which is what a voice note's waveform needs to show.

Two containers are read: Ogg (granule positions: samples at 48 kHz, less the pre-skip) and
WebM/Matroska as Chromium's MediaRecorder writes it (clusters of unknown size and no duration
in the header, so the duration is the last block's time plus one frame).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

WAVEFORM_BARS = 64
WAVEFORM_TOP = 100
OPUS_RATE = 48_000
FRAME_MS = 20  # MediaRecorder's Opus frames


@dataclass
class VoiceInfo:
    duration_ms: int
    waveform: list[int]


class NotVoice(Exception):
    """The container could not be read as audio."""


def waveform(sizes: list[int], bars: int = WAVEFORM_BARS) -> list[int]:
    """Packet sizes in time order, averaged into `bars` levels from 0 to WAVEFORM_TOP."""
    if not sizes:
        return [0] * bars
    levels = []
    for bar in range(bars):
        start = bar * len(sizes) // bars
        end = max(start + 1, (bar + 1) * len(sizes) // bars)
        chunk = sizes[start:end]
        levels.append(sum(chunk) / len(chunk))
    low, high = min(levels), max(levels)
    if high - low < 1e-9:
        return [WAVEFORM_TOP // 2 if high > 0 else 0] * bars
    return [round((level - low) / (high - low) * WAVEFORM_TOP) for level in levels]


# ---- Ogg ----------------------------------------------------------------------------------------


def read_ogg(handle: BinaryIO) -> VoiceInfo:
    pre_skip = 0
    last_granule = -1
    packets: list[int] = []
    packet_size = 0
    packet_index = 0
    while True:
        header = handle.read(27)
        if len(header) < 27:
            break
        if header[:4] != b"OggS":
            raise NotVoice("lost Ogg page sync")
        granule = struct.unpack_from("<q", header, 6)[0]
        lacing = handle.read(header[26])
        body = handle.read(sum(lacing))
        offset = 0
        for value in lacing:
            segment = body[offset : offset + value]
            offset += value
            if packet_index == 0 and packet_size == 0 and segment.startswith(b"OpusHead"):
                pre_skip = struct.unpack_from("<H", segment, 10)[0]
            packet_size += value
            if value < 255:  # the packet ends here
                if packet_index >= 2:  # after OpusHead and OpusTags
                    packets.append(packet_size)
                packet_index += 1
                packet_size = 0
        if granule >= 0:
            last_granule = granule
    if last_granule < 0 or not packets:
        raise NotVoice("no audio in the Ogg stream")
    duration_ms = max(0, last_granule - pre_skip) * 1000 // OPUS_RATE
    return VoiceInfo(duration_ms, waveform(packets))


# ---- WebM / Matroska ----------------------------------------------------------------------------

SEGMENT, CLUSTER, BLOCK_GROUP = 0x18538067, 0x1F43B675, 0xA0
INFO, TIMECODE_SCALE, DURATION = 0x1549A966, 0x2AD7B1, 0x4489
CLUSTER_TIMECODE, SIMPLE_BLOCK, BLOCK = 0xE7, 0xA3, 0xA1
MASTERS = {SEGMENT, CLUSTER, BLOCK_GROUP, INFO}
UNKNOWN = -1


def _vint(handle: BinaryIO, keep_marker: bool) -> tuple[int, int] | None:
    """(value, length) of an EBML variable-length integer, or None at the end."""
    first = handle.read(1)
    if not first:
        return None
    byte = first[0]
    length = 1
    while length <= 8 and not byte & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise NotVoice("bad EBML number")
    rest = handle.read(length - 1)
    if len(rest) < length - 1:
        return None
    value = byte if keep_marker else byte & (0xFF >> length)
    for extra in rest:
        value = (value << 8) | extra
    if not keep_marker and value == (1 << (7 * length)) - 1:
        value = UNKNOWN
    return value, length


def read_webm(handle: BinaryIO) -> VoiceInfo:
    scale_ns = 1_000_000
    declared_ms = None
    cluster_time = 0
    blocks: list[tuple[int, int]] = []  # (time in timecode units, size)
    while True:
        element = _vint(handle, keep_marker=True)
        if element is None:
            break
        size_read = _vint(handle, keep_marker=False)
        if size_read is None:
            break
        element_id, size = element[0], size_read[0]
        if element_id in MASTERS:
            continue  # read its children in line; unknown sizes need no bookkeeping
        if size == UNKNOWN:
            raise NotVoice("unknown size on a leaf element")
        if element_id in (SIMPLE_BLOCK, BLOCK):
            data = handle.read(min(size, 4))
            track = _vint_from(data)
            relative = struct.unpack_from(">h", data, track)[0] if len(data) >= track + 2 else 0
            blocks.append((cluster_time + relative, size - track - 3))
            handle.seek(size - len(data), 1)
            continue
        if element_id in (TIMECODE_SCALE, CLUSTER_TIMECODE, DURATION):
            data = handle.read(size)
            if element_id == DURATION:
                declared = struct.unpack(">d" if size == 8 else ">f", data)[0]
            else:
                number = int.from_bytes(data, "big")
                if element_id == TIMECODE_SCALE:
                    scale_ns = number or scale_ns
                else:
                    cluster_time = number
            if element_id == DURATION:
                declared_ms = declared
            continue
        handle.seek(size, 1)
    if not blocks:
        raise NotVoice("no audio blocks in the WebM stream")
    blocks.sort()
    if declared_ms:
        duration_ms = int(declared_ms * scale_ns / 1_000_000)
    else:
        duration_ms = blocks[-1][0] * scale_ns // 1_000_000 + FRAME_MS
    return VoiceInfo(duration_ms, waveform([size for _, size in blocks]))


def _vint_from(data: bytes) -> int:
    """The length of the track number that opens a block."""
    if not data:
        return 1
    length = 1
    while length <= 8 and not data[0] & (0x80 >> (length - 1)):
        length += 1
    return length


def read_voice(handle: BinaryIO, mime: str) -> VoiceInfo:
    return read_ogg(handle) if mime == "audio/ogg" else read_webm(handle)
