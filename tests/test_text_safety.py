"""Names and text: what a person types cannot pose as someone else, hide, or look empty."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from checks import assert_error
from helpers import PASSWORD, Api, fresh_username, register


@pytest.fixture(scope="module")
async def user(live_server):
    api = await register(live_server)
    yield api
    await api.close()


async def _patch(user: Api, **changes):
    return await user.patch("/api/me", json=changes)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Sara\u202eevil", "Saraevil"),  # right-to-left override
        ("\u202aSara\u202c", "Sara"),  # embedding and pop
        ("\u2066Sara\u2069", "Sara"),  # isolate
        ("Sa\x00ra", "Sara"),  # NUL
        ("Sa\u200bra", "Sara"),  # zero-width space
        ("Sa\nra", "Sara"),  # a newline has no place in a name
        ("Sa\tra", "Sa ra"),
        ("\ufeffSara", "Sara"),  # byte order mark
        ("Sa\u00adra", "Sara"),  # soft hyphen
        ("می\u200cخواهم", "می\u200cخواهم"),  # Persian keeps its zero-width non-joiner
        ("a\u200db", "a\u200db"),  # and its joiner
    ],
    ids=["rlo", "embedding", "isolate", "nul", "zwsp", "newline", "tab", "bom", "soft hyphen", "zwnj", "zwj"],
)
async def test_display_name_loses_bidi_and_control_characters(user, given, stored):
    response = await _patch(user, display_name=given)
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == stored
    public = await user.get(f"/api/users/{user.username}")
    assert public.json()["display_name"] == stored


async def test_display_name_and_bio_are_stored_in_nfc(user):
    decomposed = unicodedata.normalize("NFD", "Amélie آ")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    response = await _patch(user, display_name=decomposed, bio=decomposed)
    assert response.json()["display_name"] == unicodedata.normalize("NFC", decomposed)
    assert response.json()["bio"] == unicodedata.normalize("NFC", decomposed)


async def test_bio_keeps_line_breaks_and_loses_overrides(user):
    response = await _patch(user, bio="line one\nline two\u202e\r\n\u2028end")
    assert response.json()["bio"] == "line one\nline two\n\nend"


@pytest.mark.parametrize(
    "name",
    ["\u200b", "\u200c\u200d", "\u202e", "\u3164", "\u2800\u2800", "\u0301\u0301", " \u00a0 "],
    ids=["zwsp", "zwnj+zwj", "rlo", "hangul filler", "braille blank", "marks", "spaces"],
)
async def test_a_display_name_must_show_something(user, name):
    assert_error(await _patch(user, display_name=name), 422, "invalid_input", "display_name")


async def test_register_refuses_an_invisible_display_name(live_server):
    api = Api(live_server)
    body = {"username": fresh_username(), "password": PASSWORD, "display_name": "\u200b\u3164"}
    assert_error(await api.post("/api/auth/register", json=body), 422, "invalid_input", "display_name")
    await api.close()


async def test_stacked_combining_marks_are_capped(user):
    assert_error(await _patch(user, display_name="a" + "\u0301" * 64), 422, "invalid_input", "display_name")
    assert_error(await _patch(user, bio="x" + "\u0301" * 5), 422, "invalid_input", "bio")
    persian = "بِّ"  # kasra and shadda: two marks, as Persian writes them
    assert (await _patch(user, display_name=persian)).json()["display_name"] == persian
    assert (await _patch(user, display_name="x" + "\u0301" * 4)).status_code == 200


@pytest.mark.parametrize(
    "text",
    ["\u200b", "\u200c", "\u202e\u202c", " \n\t ", "\u3164", "\u2800", "\u0301"],
    ids=["zwsp", "zwnj", "bidi", "whitespace", "hangul filler", "braille blank", "lone mark"],
)
async def test_message_text_of_only_invisible_characters_is_refused(live_server, user, text):
    peer = await register(live_server)
    body = {"to": peer.username, "text": text, "client_id": uuid.uuid4().hex}
    assert_error(await user.post("/api/messages", json=body), 422, "invalid_input", "text")
    sent = await user.send(peer.username, "سلام 👋")
    edited = await user.patch(f"/api/messages/{sent['id']}", json={"text": text})
    assert_error(edited, 422, "invalid_input", "text")
    history = await peer.get(f"/api/conversations/{user.username}/messages")
    assert [m["text"] for m in history.json()["messages"]] == ["سلام 👋"]
    await peer.close()


async def test_emoji_and_persian_text_are_sent_untouched(live_server, user):
    peer = await register(live_server)
    text = "می\u200cخواهم 👍🏽\n‏ok"
    assert (await user.send(peer.username, text))["text"] == text
    await peer.close()
