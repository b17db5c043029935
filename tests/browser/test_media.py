"""Photos, files and voice notes in the browser app, between two people, on a bad network."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from browser_helpers import (
    People,
    confirm_files,
    launched_chromium,
    open_chat,
    pick_files,
    register_without_keys,
    token_of,
)
from PIL import Image
from playwright.sync_api import expect

CHUNK = 256 * 1024
FAKE_AUDIO = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def browser():
    """Chromium with a fake microphone (a beeping tone) that needs no permission prompt."""
    yield from launched_chromium(*FAKE_AUDIO)


def noisy_jpeg(path: Path, width: int, height: int) -> int:
    """A photo-like JPEG (noise does not compress) of a few megabytes; its size."""
    image = Image.merge("RGB", [Image.effect_noise((width, height), sigma) for sigma in (50, 70, 90)])
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    path.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def two_in_a_chat(people: People):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    open_chat(omid_page, sara)
    return sara_page, sara, omid_page, omid


def test_a_photo_and_a_file_go_between_two_people(people, tmp_path, screenshot):
    sara_page, _, omid_page, _ = two_in_a_chat(people)
    photo_path = tmp_path / "sunset.jpg"
    noisy_jpeg(photo_path, 800, 600)
    sara_page.get_by_test_id("composer").fill("غروب")
    pick_files(sara_page, photo_path)

    photo = omid_page.get_by_test_id("attachment-photo")
    expect(photo.get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail")
    expect(omid_page.get_by_test_id("message-text").filter(has_text="غروب")).to_be_visible()
    photo.get_by_test_id("photo").click()
    viewer = omid_page.get_by_test_id("viewer")
    expect(viewer).to_have_attribute("data-stage", "full")
    size = omid_page.get_by_test_id("viewer-image").evaluate("image => [image.naturalWidth, image.naturalHeight]")
    assert size == [800, 600]
    omid_page.get_by_test_id("viewer-close").click()
    expect(viewer).to_have_count(0)

    second = tmp_path / "second.jpg"
    noisy_jpeg(second, 300, 500)
    pick_files(sara_page, second)
    expect(omid_page.get_by_test_id("photo")).to_have_count(2)
    expect(omid_page.get_by_test_id("photo").nth(1)).to_have_attribute("data-stage", "thumbnail")
    omid_page.get_by_test_id("photo").first.click()
    expect(viewer).to_have_attribute("data-index", "0")
    omid_page.get_by_test_id("viewer-next").click()
    expect(viewer).to_have_attribute("data-index", "1")
    expect(viewer).to_have_attribute("data-stage", "full")
    size = omid_page.get_by_test_id("viewer-image").evaluate("image => [image.naturalWidth, image.naturalHeight]")
    assert size == [300, 500]
    omid_page.keyboard.press("Escape")
    expect(viewer).to_have_count(0)

    notes = tmp_path / "یادداشت.txt"
    content = ("سلام " + uuid.uuid4().hex + "\n").encode() * 50
    notes.write_bytes(content)
    pick_files(sara_page, notes)
    card = omid_page.get_by_test_id("attachment-file")
    expect(card.get_by_test_id("file-name")).to_have_text("یادداشت.txt")
    with omid_page.expect_download() as download_info:
        card.get_by_test_id("file-download").click()
    download = download_info.value
    assert download.suggested_filename == "یادداشت.txt"
    assert Path(download.path()).read_bytes() == content
    screenshot(omid_page)


def patch_offsets(page) -> list[int]:
    """The Upload-Offset of every tus PATCH the page sends, in order (each sends from there)."""
    offsets: list[int] = []
    page.on(
        "request",
        lambda request: (
            request.method == "PATCH"
            and "/api/uploads/" in request.url
            and offsets.append(int(request.headers["upload-offset"]))
        ),
    )
    return offsets


def upload_lengths(page) -> list[int]:
    """The Upload-Length of every tus creation the page sends: in an encrypted chat that is the
    cleaned photo's sealed length, not the picked file's."""
    lengths: list[int] = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST"
            and request.url.endswith("/api/uploads")
            and lengths.append(int(request.headers["upload-length"]))
        ),
    )
    return lengths


def network_control(page):
    """A DevTools session on the page with its network domain on, to throttle or cut it."""
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    return network


def test_a_photo_upload_cut_offline_at_half_finishes_without_starting_over(people, tmp_path):
    sara_page, _, omid_page, _ = two_in_a_chat(people)
    photo_path = tmp_path / "big.jpg"
    noisy_jpeg(photo_path, 1600, 1200)
    offsets, lengths = patch_offsets(sara_page), upload_lengths(sara_page)
    network = network_control(sara_page)
    slow = {"latency": 20, "downloadThroughput": -1, "uploadThroughput": 600 * 1024}
    network.send("Network.emulateNetworkConditions", {"offline": False, **slow})

    pick_files(sara_page, photo_path)
    ring = sara_page.get_by_test_id("upload-progress")
    sara_page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=upload-progress]')?.dataset.percent) >= 45", timeout=30_000
    )
    sara_page.context.set_offline(True)
    network.send("Network.emulateNetworkConditions", {"offline": True, **slow})
    sent_before_cut = len(offsets)
    sara_page.wait_for_timeout(1500)
    expect(ring).to_be_visible()  # still waiting in the outbox
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    sara_page.context.set_offline(False)

    expect(omid_page.get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail", timeout=30_000)
    expect(ring).to_have_count(0)
    [size] = lengths  # one upload, of the sealed photo
    assert offsets == sorted(offsets) and offsets.count(0) == 1, offsets  # never started over
    assert offsets[sent_before_cut] > size * 0.3, offsets  # the first PATCH after the cut goes on from there
    sent = sum(min(CHUNK, size - offset) for offset in offsets)
    assert size <= sent <= size + CHUNK, (size, sent, offsets)  # each byte once, give or take a chunk


OPENED_ATTACHMENT = """async (peer) => {
  const e2ee = await import('/e2ee.js');
  const token = JSON.parse(localStorage.getItem('payambar.session')).token;
  const url = `/api/conversations/${encodeURIComponent(peer)}/messages?limit=50`;
  const page = await (await fetch(url, { headers: { authorization: `Bearer ${token}` } })).json();
  const opened = await e2ee.openMessages(page.messages);
  const { sealed, preview, ...rest } = opened[opened.length - 1].attachment;
  const shortPreview = preview ? { mime: preview.mime, chars: preview.data.length } : null;
  return { ...rest, sealed: Boolean(sealed), preview: shortPreview };
}"""


def opened_attachment(page, peer: str) -> dict:
    """The newest message's attachment as the device on `page` reads it from its envelope."""
    return page.evaluate(OPENED_ATTACHMENT, peer)


def test_a_voice_note_recorded_with_the_microphone_plays_on_the_other_side(people, screenshot):
    sara_page, sara, omid_page, _ = two_in_a_chat(people)
    sara_page.get_by_test_id("record-button").click()
    expect(sara_page.get_by_test_id("recorder")).to_be_visible()
    sara_page.wait_for_timeout(2200)
    expect(sara_page.get_by_test_id("record-timer")).not_to_have_text("۰:۰۰")
    sara_page.get_by_test_id("record-stop").click()

    voice = omid_page.get_by_test_id("attachment-voice")
    expect(voice).to_be_visible(timeout=20_000)
    messages = omid_page.request.get(
        f"/api/conversations/{sara}/messages", headers={"authorization": f"Bearer {token_of(omid_page)}"}
    ).json()["messages"]
    served = messages[-1]["attachment"]  # what the server has: ciphertext, and no word of what it is
    assert served["encrypted"] is True and (served["name"], served["mime"]) == ("file", "application/octet-stream")
    assert "duration_ms" not in served and "waveform" not in served
    attachment = opened_attachment(omid_page, sara)  # measured by the sender, inside the envelope
    assert attachment["sealed"] and attachment["type"] == "voice", attachment
    assert attachment["mime"] in ("audio/webm", "audio/ogg")
    assert 1500 <= attachment["duration_ms"] <= 4000, attachment
    assert len(attachment["waveform"]) == 64 and max(attachment["waveform"]) > 0
    voice.get_by_test_id("voice-play").click()
    expect(voice.get_by_test_id("voice-play")).to_have_attribute("data-state", "playing")
    omid_page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=attachment-voice] .voice-bar.played').length > 0"
    )
    voice.get_by_test_id("voice-play").click()
    expect(voice.get_by_test_id("voice-play")).to_have_attribute("data-state", "paused")
    wave = voice.get_by_test_id("voice-wave")
    box = wave.bounding_box()
    omid_page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)  # seek to 3/4
    expect(wave).not_to_have_attribute("aria-valuenow", "0")
    played = omid_page.evaluate(
        "() => document.querySelectorAll('[data-testid=attachment-voice] .voice-bar.played').length"
    )
    assert 40 <= played <= 56, played
    voice.get_by_test_id("voice-speed").click()
    expect(voice.get_by_test_id("voice-speed")).to_have_text("۱٫۵×")
    screenshot(omid_page)


def test_recording_can_be_cancelled(people):
    sara_page, _, omid_page, _ = two_in_a_chat(people)
    sara_page.get_by_test_id("record-button").click()
    sara_page.wait_for_timeout(800)
    sara_page.get_by_test_id("record-cancel").click()
    expect(sara_page.get_by_test_id("recorder")).to_be_hidden()
    sara_page.wait_for_timeout(1000)
    expect(omid_page.get_by_test_id("attachment-voice")).to_have_count(0)
    expect(sara_page.get_by_test_id("attachment-voice")).to_have_count(0)


def test_an_upload_cut_by_a_reload_resumes_from_its_offset(people, tmp_path):
    sara_page, _, omid_page, _ = two_in_a_chat(people)
    photo_path = tmp_path / "reload.jpg"
    noisy_jpeg(photo_path, 1400, 1000)
    offsets, lengths = patch_offsets(sara_page), upload_lengths(sara_page)
    network = network_control(sara_page)
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 500 * 1024},
    )
    pick_files(sara_page, photo_path)
    sara_page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=upload-progress]')?.dataset.percent) >= 40", timeout=30_000
    )
    before_reload = len(offsets)
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    sara_page.reload()
    expect(omid_page.get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail", timeout=30_000)
    [size] = lengths  # one upload: the reload went on with the same sealed copy
    assert offsets.count(0) == 1, offsets
    assert offsets[before_reload] > size * 0.25, offsets  # after the reload it went on, not from 0
    assert sum(min(CHUNK, size - offset) for offset in offsets) <= size + CHUNK


def test_a_profile_photo_is_cropped_square_and_shown(people, tmp_path):
    omid_page, omid = people.register("omid")
    page, username = people.register("nika")
    open_chat(page, omid)
    page.get_by_test_id("composer").fill("سلام")
    page.get_by_test_id("composer").press("Enter")
    expect(page.get_by_test_id("message")).to_have_attribute("data-status", re.compile("sent|delivered|read"))
    page.goto("/")
    photo_path = tmp_path / "me.jpg"
    noisy_jpeg(photo_path, 900, 600)
    page.get_by_test_id("settings-button").click()
    page.get_by_test_id("avatar-picker").set_input_files(str(photo_path))
    photo = page.locator(".settings-me .avatar-photo")
    expect(photo).to_have_attribute("src", re.compile(rf"/api/users/{username}/avatar\?v=\w+&size=256"))
    page.wait_for_function("() => document.querySelector('.settings-me .avatar-photo')?.naturalWidth === 256")
    small = page.request.get(f"/api/users/{username}/avatar?size=64")
    assert small.ok and Image.open(io.BytesIO(small.body())).size == (64, 64)

    omid_page.reload()  # the chat list and the chat header show it
    item = omid_page.locator(f'[data-testid=chat-item][data-peer="{username}"]')
    expect(item.locator(".avatar-photo")).to_have_attribute("src", re.compile(r"avatar\?v=\w+&size=64"))
    item.click()
    expect(omid_page.locator(".conversation-header .avatar-photo")).to_be_visible()


def test_cancelling_an_upload_removes_it_here_and_on_the_server(people, tmp_path):
    sara_page, _, omid_page, _ = two_in_a_chat(people)
    photo_path = tmp_path / "cancel.jpg"
    noisy_jpeg(photo_path, 1400, 1000)
    locations: list[str] = []
    sara_page.on(
        "response",
        lambda response: (
            response.request.method == "POST"
            and response.url.endswith("/api/uploads")
            and locations.append(response.headers["location"])
        ),
    )
    network = network_control(sara_page)
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 300 * 1024},
    )
    pick_files(sara_page, photo_path)
    sara_page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=upload-progress]')?.dataset.percent) >= 10", timeout=30_000
    )
    sara_page.get_by_test_id("upload-cancel").click()
    expect(sara_page.get_by_test_id("attachment-photo")).to_have_count(0)
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    assert len(locations) == 1
    token = token_of(sara_page)
    head = {"authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    for _ in range(20):  # the termination request goes out right after the bubble leaves
        if sara_page.request.head(locations[0], headers=head).status == 404:
            break
        sara_page.wait_for_timeout(100)
    assert sara_page.request.head(locations[0], headers=head).status == 404
    sara_page.reload()
    expect(sara_page.get_by_test_id("composer")).to_be_visible()
    expect(sara_page.get_by_test_id("attachment-photo")).to_have_count(0)  # not back from the outbox
    expect(omid_page.get_by_test_id("attachment-photo")).to_have_count(0)


DROP_FILE = """(text) => {
  const data = new DataTransfer();
  data.items.add(new File([text], 'dropped.txt', { type: 'text/plain' }));
  const area = document.querySelector('.conversation');
  area.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
  area.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
}"""

PASTE_IMAGE = """async () => {
  const canvas = document.createElement('canvas');
  canvas.width = 120;
  canvas.height = 80;
  canvas.getContext('2d').fillRect(10, 10, 50, 30);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  const data = new DataTransfer();
  data.items.add(new File([blob], 'pasted.png', { type: 'image/png' }));
  const input = document.querySelector('[data-testid=composer]');
  input.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
}"""


def test_dropped_and_pasted_files_wait_offline_and_go_in_order_with_text(people):
    sara_page, _, omid_page, _ = two_in_a_chat(people)
    sara_page.context.set_offline(True)
    sara_page.evaluate(DROP_FILE, "dropped " + uuid.uuid4().hex)
    confirm_files(sara_page)
    sara_page.get_by_test_id("composer").fill("between the two")
    sara_page.get_by_test_id("composer").press("Enter")
    sara_page.evaluate(PASTE_IMAGE)
    confirm_files(sara_page)
    expect(sara_page.get_by_test_id("message")).to_have_count(3)
    sara_page.wait_for_timeout(500)
    expect(omid_page.get_by_test_id("message")).to_have_count(0)
    sara_page.context.set_offline(False)

    arrived = omid_page.get_by_test_id("message")
    expect(arrived).to_have_count(3, timeout=20_000)
    expect(arrived.nth(0).get_by_test_id("file-name")).to_have_text("dropped.txt")
    expect(arrived.nth(1).get_by_test_id("message-text")).to_have_text("between the two")
    expect(arrived.nth(2).get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail")


def test_a_photo_shows_its_blurhash_before_its_thumbnail_arrives(people, tmp_path):
    """In a plaintext chat (the other person is a script without keys) the server reads the photo
    and makes its blurhash and thumbnail; an encrypted chat's photo: tests/browser/test_sealed_media.py."""
    sara_page, _ = people.register("sara")
    bot, _ = register_without_keys(sara_page, "bot")
    open_chat(sara_page, bot)
    sara_page.route("**/thumbnail", lambda route: route.abort())  # the thumbnail does not come (yet)
    photo_path = tmp_path / "slow.jpg"
    noisy_jpeg(photo_path, 600, 400)
    pick_files(sara_page, photo_path)
    photo = sara_page.locator("[data-testid=message][data-id]:not([data-id='']) [data-testid=photo]")
    expect(photo).to_have_attribute("data-stage", "blurhash")
    blur = photo.get_by_test_id("photo-blur")
    expect(blur).to_be_visible()
    ratio = photo.evaluate("element => element.getBoundingClientRect().width / element.getBoundingClientRect().height")
    assert abs(ratio - 1.5) < 0.05  # sized from the file's width and height before any pixel arrives
    sara_page.unroute("**/thumbnail")
    sara_page.reload()
    expect(sara_page.get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail")


def test_photo_file_and_voice_bubbles_and_the_viewer_have_no_serious_accessibility_violations(people, tmp_path):
    axe = Axe()

    def serious(page) -> list[str]:
        violations = axe.run(page).response["violations"]
        return [v["id"] for v in violations if v["impact"] in ("serious", "critical")]

    sara_page, _, omid_page, _ = two_in_a_chat(people)
    photo_path = tmp_path / "a11y.jpg"
    noisy_jpeg(photo_path, 400, 300)
    notes = tmp_path / "notes.txt"
    notes.write_text("سلام\n" * 20)
    pick_files(sara_page, photo_path)
    pick_files(sara_page, notes)
    sara_page.get_by_test_id("record-button").click()
    sara_page.wait_for_timeout(1200)
    sara_page.get_by_test_id("record-stop").click()
    expect(omid_page.get_by_test_id("attachment-voice")).to_be_visible(timeout=20_000)
    expect(omid_page.get_by_test_id("photo")).to_have_attribute("data-stage", "thumbnail")
    assert serious(omid_page) == []
    omid_page.get_by_test_id("photo").click()
    expect(omid_page.get_by_test_id("viewer")).to_have_attribute("data-stage", "full")
    assert serious(omid_page) == []
