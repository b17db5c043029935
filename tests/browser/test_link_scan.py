"""Linking by camera: the approving browser reads the new device's QR code through its camera (the
vendored decoder, public/vendor/qr/decode.js) and then shows the same 6-digit code as the new
device. Chromium's fake camera plays a Y4M film of the QR code the new device's link screen drew."""

from __future__ import annotations

import io
import re
import tempfile
from pathlib import Path

import pytest
from browser_helpers import launched_chromium
from PIL import Image
from playwright.sync_api import expect
from test_e2ee_linking_browser import OWN_DEVICES, open_link_dialog, second_browser, signed_up_browser

FILM = Path(tempfile.mkdtemp(prefix="payambar-camera-")) / "qr.y4m"
WIDTH, HEIGHT = 640, 480


def write_film(picture: Image.Image, frames: int = 20) -> None:
    """A Y4M film (4:2:0) of the picture centred on white, as Chromium's fake camera plays it."""
    frame = Image.new("RGB", (WIDTH, HEIGHT), "white")
    picture = picture.convert("RGB")
    side = min(HEIGHT - 40, picture.width)
    picture = picture.resize((side, side), Image.NEAREST)
    frame.paste(picture, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    y, cb, cr = frame.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    header = f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode()
    FILM.write_bytes(header + b"".join(b"FRAME\n" + planes for _ in range(frames)))


@pytest.fixture(scope="module")
def browser():
    write_film(Image.new("RGB", (64, 64), "white"))  # the camera shows a blank wall until the test's code
    yield from launched_chromium(
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={FILM}",
    )


def test_the_approving_browser_reads_the_new_devices_qr_code_with_its_camera(people, screenshot):
    first, sara = signed_up_browser(people)
    me = sara["username"]
    second = second_browser(people, me)
    shot = second.get_by_test_id("link-qr").locator("svg").screenshot()
    write_film(Image.open(io.BytesIO(shot)))

    open_link_dialog(first)
    first.get_by_test_id("link-scan").click()
    expect(first.get_by_test_id("link-viewfinder")).to_be_visible()
    code = first.get_by_test_id("link-approve-code")
    expect(code).to_have_text(re.compile(r"^\d{6}$"), timeout=20_000)
    expect(first.get_by_test_id("link-viewfinder")).to_be_hidden()  # the camera stops once read
    expect(second.get_by_test_id("link-code")).to_have_text(code.inner_text())
    screenshot(first, "scanned")
    first.get_by_test_id("link-approve-confirm").click()
    second.wait_for_function("() => window.linked === 'linked'")
    assert len(first.evaluate(OWN_DEVICES, me)["devices"]) == 2
