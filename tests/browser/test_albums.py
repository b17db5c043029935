"""Albums: files picked together go as one message each (each sealed on its own) that name one
album inside their sealed inner message (docs/e2ee.md §7.6), and every device of both people
draws the album as one bubble: photos in a grid, the caption once under it, one time line."""

from __future__ import annotations

import io

from axe_playwright_python.sync_playwright import Axe
from browser_helpers import link_device, log_in, messages, open_chat, open_chat_from_list
from PIL import Image
from playwright.sync_api import expect

COLOURS = [(200, 40, 40), (40, 160, 60), (40, 60, 200), (220, 200, 30)]


def photos(tmp_path, count: int, size=(320, 240)) -> list:
    paths = []
    for index in range(count):
        out = io.BytesIO()
        Image.new("RGB", size, COLOURS[index % len(COLOURS)]).save(out, "JPEG")
        path = tmp_path / f"photo{index}.jpg"
        path.write_bytes(out.getvalue())
        paths.append(path)
    return paths


def send_picked(page, paths, caption: str = "") -> None:
    page.get_by_test_id("composer").fill(caption)
    page.get_by_test_id("file-picker").set_input_files([str(path) for path in paths])
    page.get_by_test_id("file-send-confirm").click()
    expect(page.get_by_test_id("file-send-dialog")).to_have_count(0)


def expect_album(page, tiles: int, caption: str | None) -> None:
    """The chat shows one bubble: an album whose grid has `tiles` opened photos, the caption once."""
    expect(messages(page)).to_have_count(1, timeout=20_000)
    grid = messages(page).get_by_test_id("album-grid")
    expect(grid).to_have_count(1)
    expect(grid.get_by_test_id("album-tile")).to_have_count(tiles)
    for index in range(tiles):
        expect(grid.get_by_test_id("photo").nth(index)).to_have_attribute("data-stage", "thumbnail", timeout=20_000)
    texts = messages(page).get_by_test_id("message-text")
    if caption is None:
        expect(texts).to_have_count(0)
    else:
        expect(texts).to_have_count(1)
        expect(texts).to_have_text(caption)
    expect(messages(page).locator(".meta time")).to_have_count(1)


def test_three_photos_picked_together_are_one_album_bubble_everywhere_and_a_deleted_part_leaves(
    people, tmp_path, screenshot
):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    open_chat(omid_page, sara)
    send_picked(sara_page, photos(tmp_path, 3), "سفر شمال")

    expect_album(omid_page, 3, "سفر شمال")
    expect_album(sara_page, 3, "سفر شمال")
    expect(messages(sara_page)).not_to_have_attribute("data-status", "pending")
    # Each part is a message of its own on the server, sealed on its own, none in the clear.
    token = omid_page.evaluate("JSON.parse(localStorage.getItem('payambar.session')).token")
    stored = omid_page.request.get(
        f"/api/conversations/{sara}/messages", headers={"authorization": f"Bearer {token}"}
    ).json()["messages"]
    assert len(stored) == 3
    assert all(message["envelope"] and message["attachment"] and not message["text"] for message in stored)
    assert len({message["attachment"]["id"] for message in stored}) == 3

    # Telegram's layout for three: one wide photo over two side by side.
    boxes = [omid_page.get_by_test_id("album-tile").nth(index).bounding_box() for index in range(3)]
    assert boxes[0]["width"] > boxes[1]["width"] * 1.8
    assert abs(boxes[1]["y"] - boxes[2]["y"]) < 1 and boxes[1]["y"] > boxes[0]["y"]

    # A tile opens the viewer, which walks the album's photos.
    omid_page.get_by_test_id("album-tile").nth(1).get_by_test_id("photo").click()
    expect(omid_page.get_by_test_id("viewer")).to_have_attribute("data-index", "1")
    expect(omid_page.get_by_test_id("viewer")).to_have_attribute("data-stage", "full")
    omid_page.get_by_test_id("viewer-close").click()
    expect(omid_page.get_by_test_id("viewer")).to_have_count(0)

    screenshot(omid_page, "album")
    axe = Axe().run(omid_page).response["violations"]
    assert [violation["id"] for violation in axe if violation["impact"] in ("serious", "critical")] == []

    omid_page.reload()
    # the chat list says what came: an album of three, not "Photo"
    preview = omid_page.locator(f'[data-testid=chat-item][data-peer="{sara}"] [data-testid=chat-preview]')
    expect(preview).to_have_text("🖼 آلبوم · ۳ عکس")
    open_chat_from_list(omid_page, sara)
    expect_album(omid_page, 3, "سفر شمال")

    # The second photo deleted (for both, from its tile's menu): its tile goes, the rest stay together.
    sara_page.get_by_test_id("album-tile").nth(1).click(button="right")
    sara_page.locator("[data-testid=message-menu] [data-action=delete]").click()
    sara_page.get_by_test_id("confirm-both").click()
    expect_album(omid_page, 2, "سفر شمال")
    expect_album(sara_page, 2, "سفر شمال")
    omid_page.reload()
    open_chat_from_list(omid_page, sara)
    expect_album(omid_page, 2, "سفر شمال")


def test_the_senders_other_device_shows_the_album_and_other_files_stack_in_one_bubble(people, tmp_path):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    other_device = people.open()
    other_device.goto("/")
    log_in(other_device, sara)
    link_device(sara_page, other_device)
    open_chat(sara_page, omid)
    open_chat(omid_page, sara)
    notes = []
    for index in range(2):
        path = tmp_path / f"notes{index}.txt"
        path.write_text(f"note {index}\n")
        notes.append(path)
    send_picked(sara_page, notes)

    expect(messages(omid_page)).to_have_count(1, timeout=20_000)
    stack = messages(omid_page).get_by_test_id("album-files")
    expect(stack.get_by_test_id("album-file")).to_have_count(2)
    expect(stack.get_by_test_id("file-name")).to_have_text(["notes0.txt", "notes1.txt"])
    expect(messages(omid_page).get_by_test_id("album-grid")).to_have_count(0)

    open_chat_from_list(other_device, omid)
    expect(messages(other_device)).to_have_count(1, timeout=20_000)
    expect(messages(other_device).get_by_test_id("album-file")).to_have_count(2)


def test_ten_photos_make_one_album_and_an_eleventh_goes_alone(people, tmp_path, screenshot):
    omid_page, omid = people.register("omid")
    sara_page, sara = people.register("sara")
    open_chat(sara_page, omid)
    open_chat(omid_page, sara)
    send_picked(sara_page, photos(tmp_path, 11, size=(64, 48)))

    expect(messages(omid_page)).to_have_count(2, timeout=30_000)
    expect(messages(omid_page).first.get_by_test_id("album-tile")).to_have_count(10)
    expect(messages(omid_page).last.get_by_test_id("album-grid")).to_have_count(0)
    expect(messages(omid_page).last.get_by_test_id("photo")).to_have_count(1)
    screenshot(omid_page)
