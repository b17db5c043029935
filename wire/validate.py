"""The rules for user input, shared by HTTP and WebSocket routes."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from wire.responses import ApiError, invalid

USERNAME = re.compile(r"[A-Za-z0-9_]{3,32}")
USERNAME_PREFIX = re.compile(r"[A-Za-z0-9_]{1,32}")
DISPLAY_NAME_MAX = 64
BIO_MAX = 280
CLIENT_ID_MAX = 64


def username(value: Any, field: str = "username") -> str:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise invalid(field, "A username is 3 to 32 letters, digits or underscores.")
    return value


PASSWORD_MIN, PASSWORD_MAX = 8, 72


def password(value: Any, field: str = "password") -> str:
    if not isinstance(value, str) or not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise invalid(field, f"A password is {PASSWORD_MIN} to {PASSWORD_MAX} characters long.")
    return value


# Persian needs the zero-width non-joiner and joiner; every other format or control character
# (bidi overrides, embeddings and isolates among them) could make a name pose as another.
KEPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")
# Letters that draw nothing, so a name made of them alone looks empty.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
INVISIBLE_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"))
MAX_COMBINING_RUN = 4  # Persian stacks two or three marks at most; "zalgo" text stacks dozens


def has_visible_character(text: str) -> bool:
    return any(
        unicodedata.category(character) not in INVISIBLE_CATEGORIES and character not in BLANK_LETTERS
        for character in text
    )


# Marks that set a direction without overriding one: Persian text pasted from elsewhere carries them.
DIRECTION_MARKS = frozenset("\u200e\u200f\u061c")


def _hidden_character(text: str, is_name: bool) -> str | None:
    """The first character a name (or a bio) may not hold, or None. A bio keeps line breaks and
    tabs and the direction marks; a name keeps only Persian's joiners of all format characters."""
    for character in text:
        if character in KEPT_FORMAT_CHARACTERS:
            continue
        category = unicodedata.category(character)
        if not is_name and (character in "\n\t" or character in DIRECTION_MARKS or category in ("Zl", "Zp")):
            continue
        if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            return character
    return None


def _longest_combining_run(text: str) -> int:
    longest = run = 0
    for character in text:
        run = run + 1 if unicodedata.combining(character) or unicodedata.category(character) == "Me" else 0
        longest = max(longest, run)
    return longest


def text_field(value: Any, field: str, max_length: int, allow_empty: bool = True, one_line: bool | None = None) -> str:
    """A name or a bio: NFC, at most a few marks stacked on a letter, and no hidden or control
    character (refused, never dropped: the server stores what the person typed or says why not).
    A name (one line) must show something; a bio keeps its line breaks."""
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be text.")
    is_name = field == "display_name" if one_line is None else one_line
    value = unicodedata.normalize("NFC", value)
    hidden = _hidden_character(value, is_name)
    if hidden is not None:
        where = "a name" if is_name else f"{field}"
        raise invalid(field, f"{where} may not hold the hidden or control character U+{ord(hidden):04X}.")
    value = value.strip() if is_name else value
    if len(value) > max_length:
        raise invalid(field, f"{field} is longer than {max_length} characters.")
    if _longest_combining_run(value) > MAX_COMBINING_RUN:
        raise invalid(field, f"{field} stacks more than {MAX_COMBINING_RUN} marks on one letter.")
    if value and is_name and not has_visible_character(value):
        raise invalid(field, f"{field} must contain a visible character.")
    if not allow_empty and not value:
        raise invalid(field, f"{field} must not be empty.")
    return value


def message_text(value: Any, max_length: int) -> str:
    if not isinstance(value, str):
        raise invalid("text", "text must be text.")
    if len(value) > max_length:
        raise invalid("text", f"text is longer than {max_length} characters.")
    if "\x00" in value:
        raise invalid("text", "text must not contain NUL characters.")
    if not has_visible_character(value):
        raise invalid("text", "text must contain a visible character.")
    return value


def client_id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= CLIENT_ID_MAX or "\x00" in value:
        raise invalid("client_id", f"client_id is 1 to {CLIENT_ID_MAX} characters.")
    return value


def _whole(value: Any) -> Any:
    """JSON has one number type: 42.0 is the whole number 42 (as JSON Schema counts it)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    return value


def positive_id(value: Any, field: str) -> int:
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        raise invalid(field, f"{field} must be a positive whole number.")
    return value


def path_message_id(raw: str) -> int:
    """The message id of a URL's path; one that cannot be an id is no such message, as an unknown one is."""
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**62:
        raise ApiError(404, "message_not_found", "No such message.")
    return int(raw)


def optional_id(value: Any, field: str) -> int | None:
    return None if value is None else positive_id(value, field)


def cursor(value: Any, field: str = "after") -> int:
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise invalid(field, f"{field} must be a whole number, 0 or more.")
    return value


# Letters of these scripts look alike ("bob" and "bоb" with a Cyrillic о): one word of a display
# name may not mix them, as browsers refuse such domain names (IDN mixed-script rules).
CONFUSABLE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})
JOINERS = frozenset({"\u200c", "\u200d"})


def _script(character: str) -> str:
    return unicodedata.name(character, "").split(" ", 1)[0]


def _may_join(before: str) -> bool:
    """A joiner may follow an Arabic-script letter (Persian), a mark (an Indic virama) or a
    symbol (emoji sequences), never a letter of a script that does not join, nor nothing."""
    category = unicodedata.category(before)
    return _script(before) == "ARABIC" or category.startswith(("M", "S"))


def display_name(value: Any) -> str:
    """A display name (text_field's rules) that cannot pass for another: no word mixes Latin,
    Cyrillic and Greek letters, and the zero-width (non-)joiner, which Persian needs between
    letters that join, may not follow a letter of a script that does not join (see `_may_join`)."""
    name = text_field(value, "display_name", DISPLAY_NAME_MAX, allow_empty=False)
    for word in name.split():
        scripts = {_script(c) for c in word if c.isalpha()} & CONFUSABLE_SCRIPTS
        if len(scripts) > 1:
            raise invalid("display_name", "A word of a display name may not mix Latin, Cyrillic and Greek letters.")
        for before, character in zip(" " + word, word, strict=False):
            if character in JOINERS and not _may_join(before):
                raise invalid("display_name", "A zero-width joiner may only follow a joining letter (Arabic script).")
    return name
