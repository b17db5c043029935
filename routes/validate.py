"""The rules for user input, shared by HTTP and WebSocket routes."""

from __future__ import annotations

import re
from typing import Any

from routes.responses import invalid
from security import password_fits

USERNAME = re.compile(r"[A-Za-z0-9_]{3,32}")
USERNAME_PREFIX = re.compile(r"[A-Za-z0-9_]{1,32}")
DISPLAY_NAME_MAX = 64
BIO_MAX = 280
CLIENT_ID_MAX = 64


def username(value: Any, field: str = "username") -> str:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise invalid(field, "A username is 3 to 32 letters, digits or underscores.")
    return value


def password(value: Any, field: str = "password") -> str:
    if not isinstance(value, str) or len(value.encode()) < 8 or not password_fits(value):
        raise invalid(field, "A password is 8 to 72 bytes long.")
    return value


def text_field(value: Any, field: str, max_length: int, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise invalid(field, f"{field} must be text.")
    if "\x00" in value:
        raise invalid(field, f"{field} must not contain NUL characters.")
    value = value.strip() if field == "display_name" else value
    if len(value) > max_length:
        raise invalid(field, f"{field} is longer than {max_length} characters.")
    if not allow_empty and not value.strip():
        raise invalid(field, f"{field} must not be empty.")
    return value


def message_text(value: Any, max_length: int) -> str:
    return text_field(value, "text", max_length, allow_empty=False)


def client_id(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= CLIENT_ID_MAX or "\x00" in value:
        raise invalid("client_id", f"client_id is 1 to {CLIENT_ID_MAX} characters.")
    return value


def positive_id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        raise invalid(field, f"{field} must be a positive whole number.")
    return value


def optional_id(value: Any, field: str) -> int | None:
    return None if value is None else positive_id(value, field)


def cursor(value: Any, field: str = "after") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**62:
        raise invalid(field, f"{field} must be a whole number, 0 or more.")
    return value
