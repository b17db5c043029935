"""Downloads: a file and its thumbnail, streamed from disk with Range and ETag.

Only the uploader and the two people of a conversation in which the file was sent (in a message
not deleted) may fetch it; to anyone else it does not exist (404).
"""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import Response

from auth.tokens import require_user
from media import sniff
from media.blobs import UPLOAD_ID
from server.services import services_of
from store import StoredFile
from wire.contract import api, pattern, ref
from wire.downloads import content_disposition, stream_blob
from wire.responses import JSON, ApiError

# Revalidated on every use (cheap with the ETag), so a deleted message stops a cached copy too.
PRIVATE_CACHE = "private, no-cache"
# Whatever a file holds, it never runs as a page of this origin.


FILE_PATH = {"file_id": pattern(f"^{UPLOAD_ID.pattern}$")}
# One range or several, as RFC 9110 spells them.
_RANGE = "(?:[0-9]{1,15}-[0-9]{0,15}|-[0-9]{1,15})"
RANGE = {"Range": pattern(f"^bytes={_RANGE}(?:, ?{_RANGE})*$") | {"description": "bytes=first-last"}}
BYTES = {"type": "string", "format": "binary"}
CACHING = {"ETag": "the version of the bytes", "Cache-Control": "private, no-cache"}


async def _file_for_caller(request: Request) -> StoredFile:
    user_id, _ = await require_user(request)
    file_id = request.path_params["file_id"]
    found = await services_of(request).files.file_for(file_id, user_id) if UPLOAD_ID.fullmatch(file_id) else None
    if found is None:
        raise ApiError(404, "file_not_found", "No such file.")
    return found


@api("The file object", {200: ("The file", ref("File"))}, errors=(404,), path=FILE_PATH)
async def info(request: Request) -> JSON:
    return JSON((await _file_for_caller(request)).as_dict())


@api(
    "The file's bytes (Range, If-None-Match)",
    {200: ("The file", BYTES), 206: ("A range of it", BYTES), 304: ("Not modified", None)},
    errors=(400, 404, 416),
    path=FILE_PATH,
    query={"download": {"type": "string", "enum": ["1"], "description": "1: as an attachment"}},
    headers=RANGE,
    media_type="*/*",
    answer_headers=CACHING,
    description="Only the uploader and the two people of a conversation the file was sent in may fetch it.",
)
async def download(request: Request) -> Response:
    found = await _file_for_caller(request)
    inline = found.mime in sniff.INLINE_TYPES and request.query_params.get("download") != "1"
    media_type = "text/plain; charset=utf-8" if found.mime == "text/plain" else found.mime
    return await stream_blob(
        request,
        services_of(request).blobs.path(found.sha256),
        found.sha256,
        media_type,
        content_disposition(found.name, inline),
        PRIVATE_CACHE,
    )


@api(
    "A photo's or video's JPEG thumbnail",
    {200: ("The thumbnail", BYTES), 206: ("A range of it", BYTES), 304: ("Not modified", None)},
    errors=(400, 404, 416),
    path=FILE_PATH,
    headers=RANGE,
    media_type="image/jpeg",
    answer_headers=CACHING,
)
async def thumbnail(request: Request) -> Response:
    found = await _file_for_caller(request)
    if found.thumbnail_sha256 is None:
        raise ApiError(404, "thumbnail_not_found", "This file has no thumbnail.")
    name = f"{os.path.splitext(found.name)[0] or 'file'}-thumbnail.jpg"
    return await stream_blob(
        request,
        services_of(request).blobs.path(found.thumbnail_sha256),
        found.thumbnail_sha256,
        "image/jpeg",
        content_disposition(name, True),
        PRIVATE_CACHE,
    )
