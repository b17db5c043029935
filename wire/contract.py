"""What a route accepts and answers, declared on its handler with `@api(...)`.

routes/openapi.py walks the app's routes and reads these declarations, so the OpenAPI document
cannot drift from the routes. The limits come from the rules in wire/validate.py; a schema may
be a function of the settings where a limit is a setting (the message length).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import BaseRoute, Route

from wire import validate

Schema = dict | Callable[[Any], dict]


@dataclass(frozen=True)
class Contract:
    summary: str
    answers: dict[int, tuple[str, Schema | None]]
    errors: tuple[int, ...] = ()
    body: Schema | None = None
    query: Mapping[str, Schema] = field(default_factory=dict)
    path: Mapping[str, Schema] = field(default_factory=dict)
    public: bool = False
    media_type: str = "application/json"
    description: str = ""
    headers: Mapping[str, Schema] | Callable[[Any], dict] = field(default_factory=dict)
    body_type: str = "application/json"
    answer_headers: dict[str, str] = field(default_factory=dict)
    # What an API token needs for the call: None is the method's default (read for GET and HEAD,
    # send for the rest); () is "no token at all": a logged-in device (and the password).
    scopes: tuple[str, ...] | None = None


def api(
    summary: str,
    answers: dict[int, tuple[str, Schema | None]],
    errors: tuple[int, ...] = (),
    body: Schema | None = None,
    query: Mapping[str, Schema] | None = None,
    path: Mapping[str, Schema] | None = None,
    public: bool = False,
    media_type: str = "application/json",
    description: str = "",
    headers: Mapping[str, Schema] | Callable[[Any], dict] | None = None,
    body_type: str = "application/json",
    answer_headers: dict[str, str] | None = None,
    scopes: tuple[str, ...] | None = None,
):
    """Declares a handler's contract. Errors every route of its kind can give are added by the
    document: 401 and 403 without `public`, 400 and 413 with a JSON body, 422 with a JSON body or
    query parameters. `scopes` are what an API token needs (see `Contract.scopes`; `require_user`
    in auth/tokens.py enforces them). `headers` are request headers (`required(...)` for one
    the route cannot do without); `answer_headers` name the headers a success answer carries."""

    def declare(handler):
        handler.contract = Contract(
            summary,
            answers,
            errors,
            body,
            query or {},
            path or {},
            public,
            media_type,
            description,
            headers or {},
            body_type,
            answer_headers or {},
            scopes,
        )
        return handler

    return declare


# ---- schemas of the values the rules in wire/validate.py accept ---------------------------------

USERNAME = {"type": "string", "pattern": f"^{validate.USERNAME.pattern}$"}
USERNAME_PREFIX = {"type": "string", "pattern": f"^{validate.USERNAME_PREFIX.pattern}$"}
PASSWORD = {"type": "string", "minLength": validate.PASSWORD_MIN, "maxLength": validate.PASSWORD_MAX}
# A name must show a visible character and stack at most MAX_COMBINING_RUN marks; format names
# that rule, which a JSON Schema pattern cannot say.
# No control or format character but Persian's joiners (U+200C, U+200D); a bio also keeps line
# breaks, tabs and the direction marks (U+200E, U+200F, U+061C). The patterns name the controls,
# bidi embeddings, overrides and isolates; the rest of Unicode's format characters the server
# refuses too (422, naming the character).
_NAME_CHARACTERS = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u200b\\u200e\\u200f\\u202a-\\u202e\\u2060-\\u206f\\ufeff]*$"
_BIO_CHARACTERS = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u200b\\u202a-\\u202e\\u2060-\\u206f\\ufeff]*$"
DISPLAY_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": validate.DISPLAY_NAME_MAX,
    "format": "visible-text",
    "pattern": _NAME_CHARACTERS,
}
BIO = {"type": "string", "maxLength": validate.BIO_MAX, "format": "plain-text", "pattern": _BIO_CHARACTERS}
# base64url of a version 1 envelope's bytes (docs/e2ee.md §7), a layout a pattern cannot say
ENVELOPE = {"type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 62_806, "format": "e2ee-envelope"}
CLIENT_ID = {"type": "string", "minLength": 1, "maxLength": validate.CLIENT_ID_MAX}
ID = {"type": "integer", "minimum": 1, "maximum": 2**62 - 1}
CURSOR = {"type": "integer", "minimum": 0, "maximum": 2**62 - 1}
STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


# A person's own settings of a chat (routes/chat_settings.py), in the chat list too.
CHAT_SETTINGS: dict[str, Any] = {
    "type": "object",
    "required": ["pinned", "pinned_at", "muted_until", "archived", "marked_unread"],
    "properties": {
        "pinned": BOOLEAN,
        "pinned_at": NULLABLE_TIME,
        "muted_until": NULLABLE_TIME,
        "archived": BOOLEAN,
        "marked_unread": BOOLEAN,
    },
}


def message_text(settings) -> dict:
    # Any character but NUL (U+0000): text is shown as sent.
    return {
        "type": "string",
        "minLength": 1,
        "maxLength": settings.max_message_length,
        "format": "visible-text",
        "pattern": "^[^\\u0000]*$",
    }


def required(schema: dict) -> dict:
    """A query parameter or header the route cannot do without."""
    return schema | {"x-required": True}


def integer(low: int, high: int, default: int | None = None) -> dict:
    schema: dict = {"type": "integer", "minimum": low, "maximum": high}
    if default is not None:
        schema["default"] = default
    return schema


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str] | None = None, **properties: dict) -> dict:
    """An object schema that refuses unknown properties only in what it answers, never in what
    it accepts (clients may send more than a route reads)."""
    return {"type": "object", "required": required or [], "properties": properties}


def pattern(regex: str) -> dict:
    return {"type": "string", "pattern": regex}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def by_method(handlers: dict[str, Any]):
    """One endpoint serving several methods of a path, so a 405 lists every method it allows."""

    async def endpoint(request):
        return await (handlers.get(request.method) or handlers["GET"])(request)

    endpoint.handlers = handlers  # type: ignore[attr-defined]  # read by the OpenAPI document
    return endpoint


def one_route_per_path(routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """Routes with the same path become one route with every method they serve."""
    handlers_by_path: dict[str, dict[str, Any]] = {}
    for route in routes:
        if isinstance(route, Route):
            for method in route.methods or ("GET",):
                handlers_by_path.setdefault(route.path, {})[method] = route.endpoint
    result: list[BaseRoute] = []
    for route in routes:
        if not isinstance(route, Route):
            result.append(route)
            continue
        handlers = handlers_by_path.pop(route.path, None)
        if handlers is None:
            continue  # merged into the first route of its path
        if len(set(handlers.values())) == 1:
            result.append(route)
        else:
            served = {m: h for m, h in handlers.items() if m != "HEAD" or h is not handlers.get("GET")}
            result.append(Route(route.path, by_method(served), methods=sorted(handlers)))
    return result
