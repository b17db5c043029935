"""Files in an end-to-end encrypted chat, PWA to PWA (docs/e2ee.md §7.6): the sending browser
cleans each photo of its metadata (MPO's extra frame dropped, animations kept animated), measures
it and makes its thumbnail, seals it and uploads only ciphertext; the receiving browser checks
and opens it. Neither the server's copy, nor the opened file, carries a byte of the metadata."""

from __future__ import annotations

import base64
import io
import sys
import time
from pathlib import Path

import pytest
from browser_helpers import PASSWORD, Script, open_chat, pick_files, token_of, unique_name
from PIL import Image
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import media_samples as samples

SEALED_VERSION = 1
TAG, CHUNK, HEADER = 16, 65_536, 8

# The newest message's attachment as the page's device reads it, and its opened bytes (base64).
OPENED = """async (peer) => {
  const e2ee = await import('/e2ee.js');
  const { fileBlob } = await import('/ui/media.js');
  const token = JSON.parse(localStorage.getItem('payambar.session')).token;
  const url = `/api/conversations/${encodeURIComponent(peer)}/messages?limit=20`;
  const page = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();
  const opened = await e2ee.openMessages(page.messages);
  const message = opened[opened.length - 1];
  const bytes = new Uint8Array(await (await fileBlob(message.attachment)).arrayBuffer());
  let text = '';
  for (let at = 0; at < bytes.length; at += 8192) text += String.fromCharCode(...bytes.subarray(at, at + 8192));
  const { sealed, preview, ...described } = message.attachment;
  return { described, preview, e2ee: message.e2ee, text: message.text, bytes: btoa(text) };
}"""


def two_in_a_chat(people):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    open_chat(omid_page, sara)
    return sara_page, sara, omid_page, omid


def served(page, peer: str) -> tuple[dict, bytes]:
    """The newest message's file as the server has it: its file object and its bytes."""
    headers = {"authorization": f"Bearer {token_of(page)}"}
    message = page.request.get(f"/api/conversations/{peer}/messages", headers=headers).json()["messages"][-1]
    data = page.request.get(f"/api/files/{message['attachment']['id']}", headers=headers).body()
    return message, data


SAMPLES = {
    "jpeg with GPS, XMP and a comment": ("photo.jpg", samples.jpeg_with_xmp_and_comment, 1),
    "MPO (an Ultra HDR photo's gain map)": ("ultra-hdr.jpg", samples.mpo_with_gps, 1),
    "animated WebP": ("moving.webp", samples.animated_webp_with_gps, 3),
    "animated PNG": ("moving.png", samples.animated_png_with_gps, 3),
    "animated GIF with an XMP comment": ("moving.gif", samples.animated_gif_with_comment, 3),
    "PNG with GPS": ("still.png", samples.png_with_gps, 1),
    "WebP with GPS": ("still.webp", samples.webp_with_gps, 1),
}


@pytest.mark.parametrize("sample", SAMPLES, ids=list(SAMPLES))
def test_a_photo_is_cleaned_sealed_and_opened_with_no_byte_of_its_metadata(people, tmp_path, sample):
    name, make, frames = SAMPLES[sample]
    original = make()
    assert any(secret in original for secret in samples.SECRETS + (b"<x:xmpmeta",))  # the sample does leak
    path = tmp_path / name
    path.write_bytes(original)
    sara_page, sara, omid_page, omid = two_in_a_chat(people)
    sara_page.get_by_test_id("composer").fill("عکس")
    pick_files(sara_page, path)
    expect(omid_page.get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail", timeout=20_000)

    message, ciphertext = served(omid_page, sara)
    assert message["envelope"] and message["text"] == ""
    attachment = message["attachment"]
    assert attachment["encrypted"] is True and (attachment["name"], attachment["mime"]) == (
        "file",
        "application/octet-stream",
    )
    assert not {"width", "height", "blurhash", "thumbnail"} & set(attachment), attachment
    assert ciphertext[0] == SEALED_VERSION and len(ciphertext) == attachment["size"]
    for secret in samples.SECRETS + (b"Exif", b"<x:xmpmeta", name.encode()):
        assert secret not in ciphertext

    read = omid_page.evaluate(OPENED, sara)
    assert read["e2ee"] == "opened" and read["text"] == "عکس"
    assert (read["described"]["type"], read["described"]["name"]) == ("photo", name)
    opened = base64.b64decode(read["bytes"])
    for secret in samples.SECRETS + (b"<x:xmpmeta", b"Exif\x00\x00"):
        assert secret not in opened, (sample, secret)
    image = Image.open(io.BytesIO(opened))
    assert getattr(image, "n_frames", 1) == frames, (sample, image.format)
    assert (read["described"]["width"], read["described"]["height"]) == image.size
    preview = read["preview"]
    assert preview["mime"] == "image/jpeg" and len(base64.urlsafe_b64decode(preview["data"] + "==")) <= 4096


def test_a_sealed_photo_shows_its_thumbnail_from_the_envelope_while_the_file_cannot_come(people, tmp_path):
    sara_page, sara, omid_page, _ = two_in_a_chat(people)
    omid_page.route("**/api/files/*", lambda route: route.abort())  # the ciphertext does not come (yet)
    path = tmp_path / "wide.jpg"
    Image.new("RGB", (600, 400), (200, 80, 30)).save(path, "JPEG")
    pick_files(sara_page, path)
    photo = omid_page.get_by_test_id("photo")
    expect(photo).to_have_attribute("data-stage", "blurhash")
    expect(photo.get_by_test_id("photo-blur")).to_be_visible()  # the envelope's own thumbnail
    ratio = photo.evaluate("element => element.getBoundingClientRect().width / element.getBoundingClientRect().height")
    assert abs(ratio - 1.5) < 0.05  # sized from the envelope's width and height
    omid_page.wait_for_timeout(500)
    expect(photo).to_have_attribute("data-stage", "blurhash")  # a cut network is not "could not be decrypted"
    omid_page.unroute("**/api/files/*")
    omid_page.reload()
    expect(omid_page.get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail")


NEWEST_FILE_ID = """async (peer) => {
  const token = JSON.parse(localStorage.getItem('payambar.session')).token;
  const url = `/api/conversations/${encodeURIComponent(peer)}/messages?limit=5`;
  const page = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();
  return page.messages[page.messages.length - 1].attachment.id;
}"""


def test_a_file_changed_on_the_server_reads_could_not_be_decrypted_and_is_never_saved(people, live_server, tmp_path):
    sara_page, sara, omid_page, _ = two_in_a_chat(people)
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"the meeting is at noon\n" * 4000)
    pick_files(sara_page, notes)
    card = omid_page.get_by_test_id("attachment-file")
    expect(card.get_by_test_id("file-name")).to_have_text("notes.txt")  # the real name, from the envelope
    file_id = omid_page.evaluate(NEWEST_FILE_ID, sara)
    size = HEADER + notes.stat().st_size + TAG * -(-notes.stat().st_size // CHUNK)
    stored = [p for p in (live_server.data_dir / "files").rglob("*") if p.is_file() and p.stat().st_size == size]
    assert stored, f"no stored file of {size} bytes for {file_id}"
    for blob in stored:  # an operator changing one byte of it on disk
        changed = bytearray(blob.read_bytes())
        changed[HEADER + 100] ^= 0x01
        blob.chmod(0o644)
        blob.write_bytes(bytes(changed))
    downloads = []
    omid_page.on("download", lambda download: downloads.append(download))
    card.get_by_test_id("file-download").click()
    expect(omid_page.get_by_test_id("toast")).to_have_text("این فایل رمزگشایی نشد")
    omid_page.wait_for_timeout(500)
    assert downloads == []


def test_the_python_client_and_the_browser_trade_sealed_files_through_the_ui(people, live_server, tmp_path):
    """A script's photo shows in the browser as a photo (its thumbnail and size from the envelope)
    and opens in the viewer; the browser's voice-less file reaches the script under its real name,
    byte for byte."""
    script = Script()
    try:
        page, username = people.register("sara")
        bot = script.client(live_server.url, tmp_path / "bot.keys")
        bot_name = unique_name("bot")
        script.run(bot.register(bot_name, PASSWORD))
        script.run(bot.set_up_device())
        photo = io.BytesIO()
        Image.new("RGB", (320, 200), (10, 120, 200)).save(photo, "JPEG")
        thumb = io.BytesIO()
        Image.new("RGB", (32, 20), (10, 120, 200)).save(thumb, "JPEG")
        details = {
            "width": 320,
            "height": 200,
            "thumbnail": {"mime": "image/jpeg", "width": 32, "height": 20, "data": thumb.getvalue()},
        }
        script.run(
            bot.send_file(
                username, photo.getvalue(), name="دریا.jpg", caption="از اسکریپت", kind="photo", details=details
            )
        )
        open_chat(page, bot_name)
        shown = page.get_by_test_id("photo")
        expect(shown).to_have_attribute("data-stage", "thumbnail")
        assert shown.evaluate("frame => frame.querySelector('img.photo-thumb').naturalWidth") == 320
        expect(page.get_by_test_id("message-text").filter(has_text="از اسکریپت")).to_be_visible()
        shown.click()
        expect(page.get_by_test_id("viewer")).to_have_attribute("data-stage", "full")
        page.keyboard.press("Escape")

        notes = tmp_path / "گزارش.csv"
        notes.write_bytes("ستون,مقدار\n".encode() * 3000)
        pick_files(page, notes)

        def received():
            history = script.run(bot.history(username))
            return next((m for m in history if m.kind == "media" and m.inner["attachment"]["name"] == notes.name), None)

        message = wait_until(received)
        assert message.inner["attachment"]["type"] == "file" and message.inner["attachment"]["mime"] == "text/csv"
        assert script.run(bot.download(message)) == notes.read_bytes()
    finally:
        script.close()


def wait_until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("not in time")


def test_the_send_dialog_shows_each_file_takes_a_caption_and_sends_photos_as_files_when_asked(people, tmp_path):
    sara_page, sara, omid_page, _ = two_in_a_chat(people)
    photo = tmp_path / "camera.jpg"
    photo.write_bytes(samples.jpeg_with_xmp_and_comment())
    notes = tmp_path / "notes.txt"
    notes.write_text("یادداشت\n" * 100)
    composer = sara_page.get_by_test_id("composer")
    composer.fill("پیش‌نویس")
    sara_page.get_by_test_id("file-picker").set_input_files([str(photo), str(notes)])
    dialog = sara_page.get_by_test_id("file-send-dialog")
    items = dialog.get_by_test_id("file-send-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_attribute("data-kind", "photo")
    expect(items.nth(1)).to_have_attribute("data-kind", "file")
    expect(dialog.get_by_test_id("file-send-caption")).to_have_value("پیش‌نویس")
    dialog.get_by_test_id("file-send-cancel").click()
    expect(dialog).to_have_count(0)
    expect(composer).to_have_value("پیش‌نویس")  # nothing sent, nothing lost
    omid_page.wait_for_timeout(500)
    expect(omid_page.get_by_test_id("message")).to_have_count(0)

    sara_page.get_by_test_id("file-picker").set_input_files([str(photo), str(notes)])
    dialog.get_by_test_id("file-send-caption").fill("دو فایل")
    dialog.get_by_test_id("file-send-compress").uncheck()
    dialog.get_by_test_id("file-send-confirm").click()
    expect(composer).to_have_value("")
    cards = omid_page.get_by_test_id("attachment-file")
    expect(cards).to_have_count(2)
    expect(cards.nth(0).get_by_test_id("file-name")).to_have_text("camera.jpg")  # a photo sent as a file
    expect(cards.nth(1).get_by_test_id("file-name")).to_have_text("notes.txt")
    expect(omid_page.get_by_test_id("message-text").filter(has_text="دو فایل")).to_have_count(1)
    expect(omid_page.get_by_test_id("photo")).to_have_count(0)
    read = omid_page.evaluate(OPENED_FIRST_FILE, sara)
    opened = base64.b64decode(read["bytes"])
    assert read["type"] == "file" and read["text"] == "دو فایل"
    assert Image.open(io.BytesIO(opened)).size == (200, 100)  # full size
    for secret in samples.SECRETS + (b"<x:xmpmeta", b"Exif\x00\x00", b"camera SN"):
        assert secret not in opened, secret


OPENED_FIRST_FILE = """async (peer) => {
  const e2ee = await import('/e2ee.js');
  const { fileBlob } = await import('/ui/media.js');
  const token = JSON.parse(localStorage.getItem('payambar.session')).token;
  const url = `/api/conversations/${encodeURIComponent(peer)}/messages?limit=20`;
  const page = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();
  const [message] = (await e2ee.openMessages(page.messages)).filter((each) => each.attachment);
  const bytes = new Uint8Array(await (await fileBlob(message.attachment)).arrayBuffer());
  let text = '';
  for (let at = 0; at < bytes.length; at += 8192) text += String.fromCharCode(...bytes.subarray(at, at + 8192));
  return { type: message.attachment.type, text: message.text, bytes: btoa(text) };
}"""
