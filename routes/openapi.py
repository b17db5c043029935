"""GET /api/openapi.json: the HTTP contract as an OpenAPI 3.1 document, built by walking the
app's routes and reading the contract each handler declares (wire/contract.py)."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from wire.contract import (
    BIO,
    BOOLEAN,
    DISPLAY_NAME,
    ID,
    INTEGER,
    NULLABLE_TIME,
    STRING,
    TIME,
    USERNAME,
    Contract,
    api,
    array,
    integer,
    obj,
    ref,
)
from wire.responses import JSON, ApiError

STATUS_TEXT = {
    400: "The body is not JSON, or not an object",
    401: "No valid token (missing, bad, expired, revoked)",
    403: "Not yours to do",
    404: "No such thing, or not yours to see",
    405: "Method not allowed on this path",
    409: "Conflicts with what exists",
    410: "It was there, but its time ran out",
    412: "A tus request without `Tus-Resumable: 1.0.0`",
    413: "The body is larger than 64 KiB (a JSON body) or than the upload allows",
    415: "The body is not of the media type this path takes",
    416: "The range starts past the end of the file",
    422: "A value breaks a rule; `field` names it",
    423: "Another request is writing this upload",
    426: "This path speaks WebSocket only",
    429: "Too many; `Retry-After` says when to try again",
}

SCHEMAS = {
    "User": obj(
        ["username", "display_name", "bio", "created_at"],
        id=INTEGER,
        username=USERNAME,
        display_name=DISPLAY_NAME | {"format": "text"},
        bio=BIO | {"format": "text"},
        created_at=TIME,
        online=BOOLEAN,
        last_seen=NULLABLE_TIME,
        last_seen_visibility={"type": "string", "enum": ["everyone", "contacts", "nobody"]},
        deleted=BOOLEAN,
        avatar={"type": ["string", "null"], "description": "profile photo URL (add &size=64|256|640)"},
    ),
    "Message": obj(
        ["id", "client_id", "sender", "recipient", "text", "reply_to", "created_at", "edited_at", "deleted", "status"],
        id=ID,
        client_id=STRING,
        sender=USERNAME,
        recipient=USERNAME,
        text=STRING,
        reply_to={"type": ["integer", "null"]},
        created_at=TIME,
        edited_at=NULLABLE_TIME,
        deleted=BOOLEAN,
        status={"type": "string", "enum": ["sent", "delivered", "read"]},
        forwarded_from={"type": ["string", "null"], "description": "the original author of a forwarded message"},
        attachment={"oneOf": [{"type": "null"}, ref("File")]},
        envelope={
            "type": ["string", "null"],
            "description": "an end-to-end encrypted message (base64url, docs/e2ee.md); its text is then empty",
        },
        call={"oneOf": [{"type": "null"}, ref("CallRecord")]},
        reactions=array(ref("Reaction")),
        pinned_at=NULLABLE_TIME,
    ),
    "Reaction": obj(
        ["user", "at"],
        user=USERNAME,
        at=TIME,
        emoji={"type": "string", "description": "in a plaintext chat"},
        envelope={"type": "string", "description": "in an encrypted chat: an envelope of inner kind reaction"},
        client_id={"type": "string", "description": "the envelope's client_id (its associated data binds it)"},
    ),
    "CallRecord": obj(
        ["call_id", "media", "outcome", "duration_ms"],
        call_id=STRING,
        media={"type": "string", "enum": ["audio", "video"]},
        outcome={"type": "string", "enum": ["answered", "declined", "busy", "cancelled", "no_answer", "failed"]},
        duration_ms={"type": ["integer", "null"]},
    ),
    "Session": obj(["token", "expires_at", "user"], token=STRING, expires_at=TIME, user=ref("User")),
    "Update": obj(
        ["type", "seq"],
        type={"type": "string"},
        seq=INTEGER,
        message=ref("Message"),
        peer=USERNAME,
        reader=USERNAME,
        up_to=INTEGER,
    ),
    "File": obj(
        ["id", "name", "mime", "size"],
        id=STRING,
        name=STRING,
        mime=STRING,
        size=INTEGER,
        width=INTEGER,
        height=INTEGER,
        duration_ms=INTEGER,
        waveform=array(integer(0, 100)),
        thumbnail=STRING,
        blurhash=STRING,
    ),
    "Error": obj(
        ["error"],
        error=obj(["code", "message"], code=STRING, message=STRING, field=STRING),
    ),
}

RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
_PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _resolve(schema, settings):
    return schema(settings) if callable(schema) else schema


def _error_answer(status: int) -> dict:
    answer = {"description": STATUS_TEXT[status], "content": {"application/json": {"schema": ref("Error")}}}
    if status == 429:
        answer["headers"] = RETRY_AFTER
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"schema": STRING}}
    return answer


SESSION_ONLY = (
    "Needs a logged-in device (a browser session's token) and the password: an API token gets 403"
    " `session_required`, whatever its scopes."
)


def _security(contract: Contract, method: str) -> list:
    """The bearer token and, as the role names OpenAPI 3.1 allows, the API-token scopes needed."""
    if contract.public:
        return []
    scopes = contract.scopes
    if scopes is None:
        scopes = ("read",) if method in ("GET", "HEAD") else ("send",)
    return [{"bearer": list(scopes) or ["session"]}]


def _operation(contract: Contract, path: str, settings, method: str = "GET") -> dict:
    errors = set(contract.errors)
    parameters = []
    for name in _PATH_PARAMETER.findall(path):
        schema = _resolve(contract.path.get(name, STRING), settings)
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    for place, declared in (("query", contract.query), ("header", contract.headers)):
        for name, schema in _resolve(declared, settings).items():
            schema = dict(_resolve(schema, settings))
            is_required = schema.pop("x-required", False)
            parameters.append({"name": name, "in": place, "required": is_required, "schema": schema})
    operation: dict = {"summary": contract.summary, "security": _security(contract, method)}
    description = " ".join(filter(None, (contract.description, SESSION_ONLY if contract.scopes == () else "")))
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if contract.body is not None:
        body_schema = _resolve(contract.body, settings)
        is_json = contract.body_type == "application/json"
        # A JSON body of optional fields may be left out (unless it must hold one of several);
        # bytes are the point of a byte body.
        is_required = bool(body_schema.get("required") or body_schema.get("anyOf")) if is_json else True
        content = {contract.body_type: {"schema": body_schema}}
        operation["requestBody"] = {"required": is_required, "content": content}
        errors |= {400, 413, 422} if is_json else {413, 415}
    if contract.query:
        errors.add(422)
    if not contract.public:
        errors |= {401, 403}  # 403: an API token without the scope the call needs
    errors.add(405)  # any other method on this path
    responses: dict = {}
    for status, (description, schema) in sorted(contract.answers.items()):
        answer: dict = {"description": description}
        if contract.answer_headers and 200 <= status < 300:
            headers = contract.answer_headers.items()
            answer["headers"] = {name: {"description": text, "schema": STRING} for name, text in headers}
        if schema is not None:
            answer["content"] = {contract.media_type: {"schema": _resolve(schema, settings)}}
        responses[str(status)] = answer
    for status in sorted(errors):
        responses[str(status)] = _error_answer(status)
    operation["responses"] = responses
    return operation


def _walk(routes: list[BaseRoute], prefix: str = ""):
    for route in routes:
        if isinstance(route, Mount):
            yield from _walk(route.routes, prefix + route.path)
        elif isinstance(route, Route | WebSocketRoute):
            yield prefix + route.path, route


UNDOCUMENTED = {"summary": "undocumented", "x-undocumented": True, "responses": {"200": {"description": "?"}}}


def build_document(app) -> dict:
    settings = app.state.services.settings
    paths: dict[str, dict] = {}
    for path, route in _walk(app.routes):
        if isinstance(route, WebSocketRoute):
            continue  # described by the plain-HTTP route at the same path
        handlers = getattr(route.endpoint, "handlers", None)
        methods = route.methods or {"GET"}
        for method in sorted(methods - {"HEAD"} if "GET" in methods else methods):
            handler = handlers.get(method) if handlers else route.endpoint
            contract = getattr(handler, "contract", None)
            operation = _operation(contract, path, settings, method) if contract else UNDOCUMENTED
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Payambar",
            "version": "1",
            "description": "A self-hosted 1-to-1 messenger. The WebSocket protocol at /ws is described in the README.",
        },
        "paths": paths,
        "components": {
            "schemas": {name: _resolve(schema, settings) for name, schema in SCHEMAS.items()},
            "responses": {"Error": _error_answer(400) | {"description": "An error"}},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A session's token (from login or register: every scope) or an API token"
                    " (POST /api/me/tokens) with some of the scopes read, send and account. Each operation"
                    " lists the scope it needs; `session` means no API token at all.",
                }
            },
        },
    }


@api("This document", {200: ("The OpenAPI document", {"type": "object"})}, public=True)
async def document(request: Request) -> JSON:
    state = request.app.state
    cached = getattr(state, "openapi_document", None)
    if cached is None:
        cached = state.openapi_document = build_document(request.app)
    return JSON(cached)


@api(
    "The live connection (WebSocket)",
    {101: ("Switching to WebSocket", None)},
    errors=(426,),
    public=True,
    description=(
        'Open a WebSocket here, then send {"type":"auth","token":…,"after"?:cursor} first; the server'
        ' answers {"type":"ready",…} and streams updates. Frames are described in the README. A plain'
        " HTTP request is answered 426."
    ),
)
async def websocket_over_http(request: Request) -> JSON:
    raise ApiError(426, "upgrade_required", "This path speaks WebSocket; open a WebSocket here.")
