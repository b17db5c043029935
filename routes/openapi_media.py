"""The media part of the OpenAPI document: tus uploads, files, profile photos."""

from __future__ import annotations

INTEGER, STRING = {"type": "integer"}, {"type": "string"}
AUTH = [{"bearer": []}]
TUS_HEADER = {"name": "Tus-Resumable", "in": "header", "required": True, "schema": {"const": "1.0.0"}}
UPLOAD_ID = {"name": "upload_id", "in": "path", "required": True, "schema": STRING}
FILE_ID = {"name": "file_id", "in": "path", "required": True, "schema": STRING}
RANGE = {"name": "Range", "in": "header", "required": False, "schema": STRING, "description": "bytes=first-last"}


def _header(name: str, description: str = "") -> dict:
    return {"name": name, "in": "header", "required": True, "schema": STRING, "description": description}


def _errors(*statuses: int) -> dict:
    return {str(status): {"$ref": "#/components/responses/Error"} for status in statuses}


def _op(summary: str, responses: dict, parameters: list | None = None, public: bool = False, body=None) -> dict:
    operation: dict = {"summary": summary, "responses": responses, "security": [] if public else AUTH}
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    return operation


def _bytes(description: str, media_type: str = "application/octet-stream") -> dict:
    return {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}


FILE_SCHEMA = {
    "type": "object",
    "required": ["id", "name", "mime", "size"],
    "properties": {
        "id": STRING,
        "name": STRING,
        "mime": STRING,
        "size": INTEGER,
        "width": INTEGER,
        "height": INTEGER,
        "duration_ms": INTEGER,
        "waveform": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 100}},
        "thumbnail": STRING,
        "blurhash": STRING,
    },
}

MEDIA_SCHEMAS = {"File": FILE_SCHEMA}
FILE = {"description": "The file", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/File"}}}}

MEDIA_PATHS = {
    "/api/uploads": {
        "options": _op("tus discovery: Tus-Version, Tus-Extension, Tus-Max-Size", {"204": {"description": "Limits"}},
                       public=True),
        "post": _op(
            "tus creation: start an upload",
            {"201": {"description": "Created; Location names the upload"}, **_errors(400, 401, 412, 413, 422, 429)},
            [TUS_HEADER, _header("Upload-Length", "bytes"), _header("Upload-Metadata", "filename <base64>")],
        ),
    },
    "/api/uploads/{upload_id}": {
        "head": _op(
            "tus: how many bytes the server has (Upload-Offset)",
            {"200": {"description": "Upload-Offset and Upload-Length"}, **_errors(401, 404, 412)},
            [UPLOAD_ID, TUS_HEADER],
        ),
        "patch": _op(
            "tus: append bytes at Upload-Offset; the last ones make the file",
            {"204": {"description": "The new Upload-Offset"}, **_errors(400, 401, 404, 409, 412, 413, 415, 422, 423)},
            [UPLOAD_ID, TUS_HEADER, _header("Upload-Offset")],
            body={"required": True, "content": {"application/offset+octet-stream": {"schema": {"type": "string"}}}},
        ),
        "delete": _op("tus termination", {"204": {"description": "Gone"}, **_errors(401, 404, 412)},
                      [UPLOAD_ID, TUS_HEADER]),
    },
    "/api/files/{file_id}": {
        "get": _op(
            "The file's bytes (Range, ETag)",
            {"200": _bytes("The file"), "206": _bytes("A range"), "304": {"description": "Not modified"},
             **_errors(401, 404, 416)},
            [FILE_ID, RANGE],
        )
    },
    "/api/files/{file_id}/info": {"get": _op("The file object", {"200": FILE, **_errors(401, 404)}, [FILE_ID])},
    "/api/files/{file_id}/thumbnail": {
        "get": _op("A photo's JPEG thumbnail", {"200": _bytes("Thumbnail", "image/jpeg"), **_errors(401, 404)},
                   [FILE_ID, RANGE])
    },
    "/api/me/avatar": {
        "put": _op(
            "Make one of your uploaded images your profile photo",
            {"200": {"description": "{avatar: url}"}, **_errors(400, 401, 404, 422, 429)},
            body={"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["file_id"], "properties": {"file_id": STRING}}}}},
        ),
        "delete": _op("Remove your profile photo", {"204": {"description": "Removed"}, **_errors(401)}),
    },
    "/api/users/{username}/avatar": {
        "get": _op(
            "A profile photo, square JPEG (public; cached for good when v is current)",
            {"200": _bytes("The photo", "image/jpeg"), **_errors(404, 422)},
            [
                {"name": "username", "in": "path", "required": True, "schema": STRING},
                {"name": "size", "in": "query", "required": False, "schema": {"enum": [64, 256, 640]}},
                {"name": "v", "in": "query", "required": False, "schema": STRING},
            ],
            public=True,
        )
    },
}  # fmt: skip
