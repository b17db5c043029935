"""Videos in an end-to-end encrypted chat: the sending browser blanks an MP4's metadata boxes (where
a phone writes the place it was filmed) without moving a byte of the film, measures the video and
takes its first frame as the thumbnail; the recipient sees that frame and the length at once, and
plays the film opened on their own device. The server holds ciphertext only."""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path

from browser_helpers import open_chat, pick_files, token_of
from playwright.sync_api import expect

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_samples import MP4_FILM, MP4_SECRETS, mp4_box, phone_mp4

STRIP = """async (data) => {
  const { mp4WithoutMetadata } = await import('/prepare.js');
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const out = mp4WithoutMetadata(bytes);
  let text = '';
  for (const byte of out) text += String.fromCharCode(byte);
  return btoa(text);
}"""


def test_an_mp4s_metadata_boxes_are_blanked_and_nothing_else_moves(people):
    page, _ = people.register("sara")
    original = phone_mp4()
    cleaned = base64.b64decode(page.evaluate(STRIP, base64.b64encode(original).decode()))
    assert len(cleaned) == len(original)
    for secret in MP4_SECRETS:
        assert secret in original and secret not in cleaned, secret
    assert cleaned.endswith(mp4_box(b"mdat", MP4_FILM)), "the film and its offsets stay where they were"
    assert cleaned.count(b"free") == 4 and b"mvhd" in cleaned and b"tkhd" in cleaned and b"mdia" in cleaned
    # not an MP4: left as it is
    other = b"\x1aE\xdf\xa3" + bytes(64)
    assert base64.b64decode(page.evaluate(STRIP, base64.b64encode(other).decode())) == other


RECORD = """async () => {
  const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 180 });
  const context = canvas.getContext('2d');
  const stream = canvas.captureStream(30);
  const recorder = new MediaRecorder(stream, { mimeType: 'video/webm' });
  const parts = [];
  recorder.ondataavailable = (event) => parts.push(event.data);
  const done = new Promise((resolve) => (recorder.onstop = resolve));
  recorder.start(100);
  const started = performance.now();
  await new Promise((resolve) => {
    const draw = () => {
      const t = performance.now() - started;
      context.fillStyle = '#1565c0';
      context.fillRect(0, 0, 320, 180);
      context.fillStyle = '#ffca28';
      context.fillRect((t / 5) % 320, 60, 60, 60);
      if (t < 1500) requestAnimationFrame(draw); else resolve();
    };
    draw();
  });
  recorder.stop();
  await done;
  const bytes = new Uint8Array(await new Blob(parts, { type: 'video/webm' }).arrayBuffer());
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}"""


def test_a_video_goes_sealed_with_its_first_frame_and_plays_on_the_other_side(people, tmp_path):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    open_chat(omid_page, sara)
    clip = base64.b64decode(sara_page.evaluate(RECORD))
    assert clip[:4] == b"\x1aE\xdf\xa3" and len(clip) > 1000  # a WebM file
    path = tmp_path / "clip-تهران.webm"
    path.write_bytes(clip)
    pick_files(sara_page, path)

    tile = omid_page.get_by_test_id("video")
    expect(tile).to_be_visible(timeout=20_000)
    expect(tile.get_by_test_id("video-poster")).to_be_visible()
    assert tile.get_by_test_id("video-poster").evaluate("image => image.decode().then(() => image.naturalWidth)") > 0
    expect(tile.get_by_test_id("video-length")).to_have_text(re.compile("^[0۰]:[0۰][12۱۲]$"))  # Persian digits
    assert tile.evaluate("frame => frame.style.aspectRatio").replace(" ", "") == "320/180"
    tile.click()
    player = omid_page.get_by_test_id("video-player")
    expect(player).to_be_visible()
    omid_page.wait_for_function("() => document.querySelector('[data-testid=video-player]').readyState >= 2")
    assert player.evaluate("video => [video.videoWidth, video.videoHeight]") == [320, 180]

    headers = {"authorization": f"Bearer {token_of(omid_page)}"}
    message = omid_page.request.get(f"/api/conversations/{sara}/messages", headers=headers).json()["messages"][-1]
    stored = omid_page.request.get(f"/api/files/{message['attachment']['id']}", headers=headers).body()
    assert message["envelope"] and clip[:64] not in stored and clip[-64:] not in stored
    assert "تهران" not in str(message) and "webm" not in str(message).lower()
