"""GET /api/openapi.json: the HTTP contract as an OpenAPI 3.1 document."""

from __future__ import annotations

from starlette.requests import Request

from routes.openapi_media import MEDIA_PATHS, MEDIA_SCHEMAS
from routes.responses import JSON


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _answer(description: str, schema: dict | None = None) -> dict:
    answer: dict = {"description": description}
    if schema is not None:
        answer["content"] = {"application/json": {"schema": schema}}
    return answer


def _errors(*statuses: int) -> dict:
    return {str(status): {"$ref": "#/components/responses/Error"} for status in statuses}


def _object(required: list[str], **properties: dict) -> dict:
    return {"type": "object", "required": required, "properties": properties}


STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
USERNAME_PARAMETER = {"name": "username", "in": "path", "required": True, "schema": STRING}
MESSAGE_ID_PARAMETER = {"name": "message_id", "in": "path", "required": True, "schema": INTEGER}
AUTH = [{"bearer": []}]


def _query(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _operation(summary: str, responses: dict, body: dict | None = None, parameters=None, public=False) -> dict:
    operation: dict = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = _body(body)
    if parameters:
        operation["parameters"] = parameters
    operation["security"] = [] if public else AUTH
    return operation


SCHEMAS = {
    "User": _object(
        ["username", "display_name", "bio", "created_at"],
        id=INTEGER,
        username=STRING,
        display_name=STRING,
        bio=STRING,
        created_at=TIME,
        online=BOOLEAN,
        last_seen=NULLABLE_TIME,
        avatar={"type": ["string", "null"], "description": "profile photo URL (add &size=64|256|640)"},
    ),
    "Message": _object(
        [
            "id",
            "client_id",
            "sender",
            "recipient",
            "text",
            "reply_to",
            "created_at",
            "edited_at",
            "deleted",
            "status",
            "forwarded_from",
        ],  # fmt: skip
        id=INTEGER,
        client_id=STRING,
        sender=STRING,
        recipient=STRING,
        text=STRING,
        reply_to={"type": ["integer", "null"]},
        created_at=TIME,
        edited_at=NULLABLE_TIME,
        deleted=BOOLEAN,
        status={"type": "string", "enum": ["sent", "delivered", "read"]},
        forwarded_from={"type": ["string", "null"], "description": "the original author of a forwarded message"},
        attachment={"oneOf": [{"type": "null"}, _ref("File")]},
    ),
    "Session": _object(["token", "expires_at", "user"], token=STRING, expires_at=TIME, user=_ref("User")),
    "Update": {
        "type": "object",
        "required": ["type", "seq"],
        "properties": {
            "type": {"type": "string", "enum": ["message", "status", "read", "edit", "delete", "hide"]},
            "seq": INTEGER,
            "message": _ref("Message"),
            "peer": STRING,
            "reader": STRING,
            "up_to": INTEGER,
            "message_id": INTEGER,
        },
    },
    "Error": _object(
        ["error"],
        error=_object(["code", "message"], code=STRING, message=STRING, field=STRING),
    ),
}

CREDENTIALS = _object(
    ["username", "password"],
    username={"type": "string", "pattern": "^[A-Za-z0-9_]{3,32}$"},
    password={"type": "string", "minLength": 8},
    display_name={"type": "string", "maxLength": 64},
)
SESSION = _answer("A token for the user", _ref("Session"))
MESSAGE = _answer("The message", _ref("Message"))

PATHS = {
    "/health": {
        "get": _operation(
            "Whether the server and its database answer", {"200": _answer("Up"), "503": _answer("Down")}, public=True
        )
    },
    "/api/auth/register": {
        "post": _operation(
            "Create an account", {"201": SESSION, **_errors(400, 409, 413, 422)}, CREDENTIALS, public=True
        )
    },
    "/api/auth/login": {
        "post": _operation("Log in", {"200": SESSION, **_errors(400, 401, 422, 429)}, CREDENTIALS, public=True)
    },
    "/api/auth/refresh": {"post": _operation("Get a fresh token", {"200": SESSION, **_errors(401)})},
    "/api/auth/logout": {"post": _operation("End this session", {"204": _answer("Logged out"), **_errors(401)})},
    "/api/me": {
        "get": _operation("Your profile", {"200": _answer("You", _ref("User")), **_errors(401)}),
        "patch": _operation(
            "Change display name or bio",
            {"200": _answer("You", _ref("User")), **_errors(400, 401, 422)},
            {"type": "object", "properties": {"display_name": STRING, "bio": STRING}},
        ),
    },
    "/api/me/password": {
        "post": _operation(
            "Change password; other sessions end",
            {"200": SESSION, **_errors(400, 401, 403, 422)},
            _object(["current_password", "new_password"], current_password=STRING, new_password=STRING),
        )
    },
    "/api/users": {
        "get": _operation(
            "Find people: usernames starting with q first, then display names with words starting so",
            {
                "200": _answer("Matches", _object(["users"], users={"type": "array", "items": _ref("User")})),
                **_errors(401, 422, 429),
            },
            parameters=[_query("q", STRING, "username prefix or display-name words"), _query("limit", INTEGER, "1-50")],
        )
    },
    "/api/users/{username}": {
        "get": _operation(
            "A public profile",
            {"200": _answer("The user", _ref("User")), **_errors(404)},
            parameters=[USERNAME_PARAMETER],
            public=True,
        )
    },
    "/api/conversations": {
        "get": _operation(
            "Your chats, most recent first",
            {
                "200": _answer(
                    "Chats",
                    _object(
                        ["conversations"],
                        conversations={
                            "type": "array",
                            "items": _object(
                                ["peer", "last_message", "unread_count", "updated_at"],
                                peer=_ref("User"),
                                last_message=_ref("Message"),
                                unread_count=INTEGER,
                                updated_at=TIME,
                            ),
                        },
                    ),
                ),
                **_errors(401),
            },
        )
    },
    "/api/conversations/{username}/messages": {
        "get": _operation(
            "A page of a chat's history, oldest first within the page",
            {
                "200": _answer(
                    "Messages",
                    _object(
                        ["messages", "has_more"], messages={"type": "array", "items": _ref("Message")}, has_more=BOOLEAN
                    ),
                ),
                **_errors(401, 404, 422),
            },
            parameters=[
                USERNAME_PARAMETER,
                _query("before", INTEGER, "older than this id"),
                _query("limit", INTEGER, "1-100"),
            ],
        )
    },
    "/api/conversations/{username}/read": {
        "post": _operation(
            "Mark read up to a message",
            {"200": _answer("Done", _object(["read_up_to"], read_up_to=INTEGER)), **_errors(400, 401, 404, 422)},
            _object(["up_to"], up_to=INTEGER),
            parameters=[USERNAME_PARAMETER],
        )
    },
    "/api/messages": {
        "post": _operation(
            "Send a message (idempotent by client_id)",
            {
                "201": MESSAGE,
                "200": _answer("The same message, sent before", _ref("Message")),
                **_errors(400, 401, 404, 413, 422),
            },
            _object(
                ["to", "client_id"],
                to=STRING,
                text={"type": "string", "description": "required unless file_id is given (then a caption)"},
                client_id=STRING,
                reply_to={"type": ["integer", "null"]},
                forward_of={"type": ["integer", "null"], "description": "forward this message (text is copied)"},
                file_id={"type": "string", "description": "a file you uploaded (POST /api/uploads)"},
            ),
        )
    },
    "/api/messages/{message_id}": {
        "patch": _operation(
            "Edit your message",
            {"200": MESSAGE, **_errors(400, 401, 403, 404, 409, 422)},
            _object(["text"], text=STRING),
            parameters=[MESSAGE_ID_PARAMETER],
        ),
        "delete": _operation(
            "Delete your message for both sides, or (for=me) any message of your chats for yourself only",
            {"200": MESSAGE, "204": _answer("Hidden for you"), **_errors(401, 403, 404, 409, 422)},
            parameters=[MESSAGE_ID_PARAMETER, _query("for", {"type": "string", "enum": ["both", "me"]}, "both")],
        ),
    },
    "/api/updates": {
        "get": _operation(
            "Long-poll your update stream",
            {
                "200": _answer(
                    "Updates after the cursor",
                    _object(["updates", "cursor"], updates={"type": "array", "items": _ref("Update")}, cursor=INTEGER),
                ),
                **_errors(401, 422),
            },
            parameters=[
                _query("after", INTEGER, "cursor"),
                _query("timeout", INTEGER, "0-60 s"),
                _query("limit", INTEGER, "1-1000"),
            ],
        )
    },
    # Search and push notifications
    "/api/search": {
        "get": _operation(
            "Search the messages of your chats, newest first",
            {
                "200": _answer(
                    "Matches",
                    _object(
                        ["messages", "has_more"], messages={"type": "array", "items": _ref("Message")}, has_more=BOOLEAN
                    ),
                ),
                **_errors(401, 404, 422, 429),
            },
            parameters=[
                _query("q", STRING, "words; the last one may be the start of a word"),
                _query("peer", STRING, "only the chat with this username"),
                _query("before", INTEGER, "older than this id"),
                _query("limit", INTEGER, "1-50"),
            ],
        )
    },
    "/api/push/key": {
        "get": _operation(
            "The server's VAPID public key, for PushManager.subscribe's applicationServerKey",
            {"200": _answer("The key", _object(["key"], key=STRING))},
            public=True,
        )
    },
    "/api/push/subscriptions": {
        "post": _operation(
            "Receive Web Push in this browser (ends with this session)",
            {"201": _answer("Subscribed", _object(["endpoint"], endpoint=STRING)), **_errors(400, 401, 413, 422, 429)},
            _object(
                ["endpoint", "keys"],
                endpoint=STRING,
                keys=_object(["p256dh", "auth"], p256dh=STRING, auth=STRING),
            ),
        ),
        "delete": _operation(
            "Stop Web Push to this browser",
            {"204": _answer("Unsubscribed"), **_errors(400, 401, 404, 422, 429)},
            _object(["endpoint"], endpoint=STRING),
        ),
    },
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {
        "title": "Payambar",
        "version": "1",
        "description": "A self-hosted 1-to-1 messenger. WebSocket protocol: see README.",
    },
    "paths": {**PATHS, **MEDIA_PATHS},
    "components": {
        "schemas": {**SCHEMAS, **MEDIA_SCHEMAS},
        "responses": {"Error": _answer("An error", _ref("Error"))},
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    },
}


async def document(request: Request) -> JSON:
    return JSON(DOCUMENT)
