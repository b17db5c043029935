"""The media functions on their own: kinds from magic numbers, blurhash, voice containers, names."""

from __future__ import annotations

import io
import struct

import pytest
from media_samples import MP4_FILM, MP4_SECRETS, jpeg_with_gps, mp4_box, ogg_opus, phone_mp4, webm_opus, windows_exe
from PIL import Image

from media import audio, blurhash, sniff, video
from routes.files import content_disposition
from routes.uploads import parse_metadata, safe_name
from wire.responses import ApiError


@pytest.mark.parametrize(
    ("head", "name", "mime"),
    [
        (b"\xff\xd8\xff\xe0" + bytes(20), "a.png", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n" + bytes(20), "a", "image/png"),
        (b"GIF89a" + bytes(20), "a", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a", "image/webp"),
        (b"%PDF-1.7\n", "a", "application/pdf"),
        (b"PK\x03\x04" + bytes(30), "report.docx", sniff.ZIP_DOCUMENTS[".docx"]),
        (b"PK\x03\x04" + bytes(30), "archive.bin", "application/zip"),
        (b"OggS\x00\x02" + bytes(30), "a", "audio/ogg"),
        (b"\x00\x00\x00\x20ftypM4A " + bytes(20), "a", "audio/mp4"),
        (b"\x00\x00\x00\x20ftypisom" + bytes(20), "a", "video/mp4"),
        (b"ID3\x04\x00" + bytes(20), "a", "audio/mpeg"),
        (b"\xff\xfb\x90\x64" + bytes(20), "a", "audio/mpeg"),
        ("سلام دنیا\n".encode(), "a", "text/plain"),
    ],
)
def test_kinds_are_told_from_the_first_bytes(head, name, mime):
    assert sniff.sniff(head, name) == mime


@pytest.mark.parametrize(
    "head",
    [
        windows_exe(),
        b"\x7fELF\x02\x01\x01" + bytes(50),
        b"\xca\xfe\xba\xbe" + bytes(50),
        b"\x00\x01\x02",
        b"\xc3\x28 bad",
    ],
)
def test_anything_else_has_no_kind(head):
    assert sniff.sniff(head, "photo.jpg", complete=True) is None


def test_a_character_cut_at_the_end_of_the_head_is_still_text_but_not_at_the_end_of_the_file():
    head = b"ab" + "گ".encode()[:1]
    assert sniff.sniff(head, "a.txt") == "text/plain"
    assert sniff.sniff(head, "a.txt", complete=True) is None


def test_webm_with_a_video_track_is_video():
    assert sniff.sniff(webm_opus(100)) == "audio/webm"
    with_video = webm_opus(100).replace(b"A_OPUS", b"V_VP80")
    assert sniff.sniff(with_video) == "video/webm"


def test_download_names_get_the_extension_of_what_the_bytes_are():
    assert sniff.download_name("photo.jpg", "image/jpeg") == "photo.jpg"
    assert sniff.download_name("photo.exe", "image/jpeg") == "photo.jpg"
    assert sniff.download_name("notes", "text/plain") == "notes.txt"


def _decode_dc(hash_text: str) -> tuple[int, int, int]:
    value = 0
    for char in hash_text[2:6]:
        value = value * 83 + blurhash.BASE83.index(char)
    return value >> 16, (value >> 8) & 255, value & 255


def test_blurhash_of_a_plain_colour_has_that_colour_and_little_detail():
    flat = blurhash.encode(Image.new("RGB", (64, 48), (200, 40, 90)))
    assert len(flat) == 28 and flat[0] == blurhash.BASE83[3 + 2 * 9]
    assert _decode_dc(flat) == (200, 40, 90)
    halves = Image.new("RGB", (64, 48), (255, 255, 255))
    halves.paste((0, 0, 0), (0, 0, 32, 48))
    detailed = blurhash.encode(halves)
    assert blurhash.BASE83.index(detailed[1]) > 3 * blurhash.BASE83.index(flat[1])  # the largest detail


def test_blurhash_of_a_photo_differs_from_its_mirror():
    image = Image.open(io.BytesIO(jpeg_with_gps(200, 150)))
    assert blurhash.encode(image) != blurhash.encode(image.transpose(Image.Transpose.FLIP_LEFT_RIGHT))


def test_ogg_duration_subtracts_the_pre_skip():
    assert audio.read_ogg(io.BytesIO(ogg_opus(1000, pre_skip=0))).duration_ms == 1000
    assert audio.read_ogg(io.BytesIO(ogg_opus(1000, pre_skip=4800))).duration_ms == 1000


def test_webm_duration_in_the_header_wins_over_the_blocks():
    data = webm_opus(1000)
    info = b"\x15\x49\xa9\x66"
    declared = b"\x44\x89\x10\x00\x00\x08" + struct.pack(">d", 5000.0)
    at = data.index(info)
    size = int.from_bytes(data[at + 5 : at + 8], "big")
    patched = data[:at] + info + b"\x10" + (size + len(declared)).to_bytes(3, "big") + data[at + 8 : at + 8 + size]
    patched += declared + data[at + 8 + size :]
    assert audio.read_webm(io.BytesIO(patched)).duration_ms == 5000


def test_garbage_is_not_a_voice_note():
    with pytest.raises(audio.NotVoice):
        audio.read_ogg(io.BytesIO(b"OggS" + bytes(40)))
    with pytest.raises(audio.NotVoice):
        audio.read_webm(io.BytesIO(b"\x1a\x45\xdf\xa3\x80"))


def test_waveform_is_64_levels_from_0_to_100():
    levels = audio.waveform([1, 1, 1, 50, 50, 50] * 30)
    assert len(levels) == 64 and min(levels) == 0 and max(levels) == 100
    assert audio.waveform([]) == [0] * 64


@pytest.mark.parametrize(
    ("raw", "safe"),
    [("../../etc/passwd", "passwd"), ("C:\\Users\\a\\doc.pdf", "doc.pdf"), ("a\x00b\u202ec.txt", "abc.txt"),
     ("", "file"), ("..", "file"), ("x" * 300, "x" * 200)],
)  # fmt: skip
def test_names_lose_folders_and_control_characters(raw, safe):
    assert safe_name(raw) == safe


def test_metadata_is_base64_pairs():
    assert parse_metadata("filename Zm9vLnR4dA==,filetype dGV4dC9wbGFpbg==,empty") == {
        "filename": "foo.txt",
        "filetype": "text/plain",
        "empty": "",
    }
    assert parse_metadata("") == {} and parse_metadata(None) == {}
    assert parse_metadata("filename /w==") == {"filename": "\ufffd"}, "bytes that are not UTF-8 are repaired"
    for bad in ["filename Zm9", "a,,b", " filename Zm9vLnR4dA==", "file name Zm9v", "k Zm9v!"]:
        with pytest.raises(ApiError) as refused:
            parse_metadata(bad)
        assert refused.value.status == 400, bad


def test_content_disposition_quotes_nothing_dangerous():
    header = content_disposition('a"b;c\\d%.txt', inline=False)
    assert header.startswith('attachment; filename="a_b_c_d_.txt"; ')
    assert header.endswith("filename*=UTF-8''a%22b%3Bc%5Cd%25.txt")


def test_mp4_metadata_is_blanked_in_place_with_64_bit_sizes_and_a_broken_tail_left_alone(tmp_path):
    large_udta = struct.pack(">I4sQ", 1, b"udta", 16 + 12) + b"\xa9xyz+35+051/"  # a 64-bit size
    broken = struct.pack(">I4s", 10_000, b"udta") + b"\xa9xyz cut"  # claims more than is there
    path = tmp_path / "clip.mp4"
    original = phone_mp4() + large_udta + broken
    path.write_bytes(original)
    assert video.blank_metadata(path) == 5
    cleaned = path.read_bytes()
    assert len(cleaned) == len(original)
    for secret in MP4_SECRETS[:3]:
        assert secret not in cleaned
    assert mp4_box(b"mdat", MP4_FILM) in cleaned
    assert cleaned.endswith(broken), "a box that runs past the end is not a box: left as it is"
    assert b"+35+051/" not in cleaned
    other = tmp_path / "not.mp4"
    other.write_bytes(b"\x1aE\xdf\xa3" + bytes(64))
    assert video.blank_metadata(other) == 0 and other.read_bytes() == b"\x1aE\xdf\xa3" + bytes(64)
