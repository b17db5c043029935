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
    "given",
    [
        "Sara\u202eevil",  # right-to-left override
        "\u202aSara\u202c",  # embedding and pop
        "\u2066Sara\u2069",  # isolate
        "Sa\x00ra",  # NUL
        "Sa\u200bra",  # zero-width space
        "Sa\nra",  # a newline has no place in a name
        "Sa\tra",
        "\ufeffSara",  # byte order mark
        "Sa\u00adra",  # soft hyphen
        "Sa\u200fra",  # a direction mark hides in a name too
    ],
    ids=["rlo", "embedding", "isolate", "nul", "zwsp", "newline", "tab", "bom", "soft hyphen", "rlm"],
)
async def test_a_display_name_with_a_bidi_or_control_character_is_refused_and_nothing_changes(user, given):
    before = (await user.get("/api/me")).json()["display_name"]
    refused = await _patch(user, display_name=given)
    assert_error(refused, 422, "invalid_input", "display_name")
    assert f"U+{ord(next(c for c in given if not c.isalpha())):04X}" in refused.json()["error"]["message"]
    assert (await user.get(f"/api/users/{user.username}")).json()["display_name"] == before


@pytest.mark.parametrize(
    "name",
    ["می\u200cخواهم", "سا\u200dرا", "\U0001f469\u200d\U0001f4bb"],
    ids=["zwnj", "zwj", "emoji zwj"],
)
async def test_persian_joiners_and_emoji_sequences_are_kept_in_names(user, name):
    response = await _patch(user, display_name=name)
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == name


async def test_display_name_and_bio_are_stored_in_nfc(user):
    decomposed = unicodedata.normalize("NFD", "Amélie آ")
    assert decomposed != unicodedata.normalize("NFC", decomposed)
    response = await _patch(user, display_name=decomposed, bio=decomposed)
    assert response.json()["display_name"] == unicodedata.normalize("NFC", decomposed)
    assert response.json()["bio"] == unicodedata.normalize("NFC", decomposed)


async def test_bio_keeps_line_breaks_and_direction_marks_and_refuses_overrides(user):
    kept = "line one\nline two\t\u200fدو\n\u2028end"
    assert (await _patch(user, bio=kept)).json()["bio"] == kept
    for hidden in ("\u202e", "\r", "\x00", "\u2066"):
        assert_error(await _patch(user, bio=f"line{hidden}end"), 422, "invalid_input", "bio")
    assert (await user.get("/api/me")).json()["bio"] == kept
    # The document's 280 characters are what the person typed, counted as sent.
    assert_error(await _patch(user, bio="x" * 281), 422, "invalid_input", "bio")
    assert (await _patch(user, bio="ب" * 280)).status_code == 200


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


@pytest.mark.parametrize(
    "name",
    [
        "b\u043eb",  # a Cyrillic о among Latin letters
        "Ad\u03b1m",  # a Greek α
        "b\u200cob",  # a zero-width non-joiner between Latin letters
        "a\u200db",  # or a joiner
        "\u200dSara",  # a joiner that follows nothing
    ],
    ids=repr,
)
async def test_a_display_name_cannot_mix_look_alike_scripts_or_hide_joiners_in_a_word(live_server, user, name):
    assert_error(await _patch(user, display_name=name), 422, "invalid_input", "display_name")
    body = {"username": fresh_username(), "password": PASSWORD, "display_name": name}
    assert_error(await Api(live_server).post("/api/auth/register", json=body), 422, "invalid_input", "display_name")


@pytest.mark.parametrize("name", ["می\u200cخواهم", "Sara سارا", "Ivan Иван", "Σοφία", "José Müller"], ids=repr)
async def test_names_in_one_script_per_word_and_persian_joiners_are_kept(user, name):
    response = await _patch(user, display_name=name)
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == unicodedata.normalize("NFC", name)
