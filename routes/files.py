"""Downloads: a file and its thumbnail, streamed from disk with Range and ETag.

Only the uploader and the two people of a conversation in which the file was sent (in a message
not deleted) may fetch it; to anyone else it does not exist (404).
"""

from __future__ import annotations

import asyncio
import os
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response

from media import sniff
from media.blobs import UPLOAD_ID
from routes.contract import api, pattern, ref
from routes.protocol import error_body
from routes.responses import JSON, ApiError
from routes.tokens import require_user
from store.files import StoredFile

# Revalidated on every use (cheap with the ETag), so a deleted message stops a cached copy too.
PRIVATE_CACHE = "private, no-cache"
# Whatever a file holds, it never runs as a page of this origin.
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


FILE_PATH = {"file_id": pattern(f"^{UPLOAD_ID.pattern}$")}
# One range or several, as RFC 9110 spells them.
_RANGE = "(?:[0-9]{1,15}-[0-9]{0,15}|-[0-9]{1,15})"
RANGE = {"Range": pattern(f"^bytes={_RANGE}(?:, ?{_RANGE})*$") | {"description": "bytes=first-last"}}
BYTES = {"type": "string", "format": "binary"}
CACHING = {"ETag": "the version of the bytes", "Cache-Control": "private, no-cache"}


async def _file_for_caller(request: Request) -> StoredFile:
    user_id, _ = await require_user(request)
    file_id = request.path_params["file_id"]
    found = await request.app.state.files.file_for(file_id, user_id) if UPLOAD_ID.fullmatch(file_id) else None
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
    return await stream_blob(request, found.sha256, media_type, content_disposition(found.name, inline), PRIVATE_CACHE)


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
        request, found.thumbnail_sha256, "image/jpeg", content_disposition(name, True), PRIVATE_CACHE
    )


def content_disposition(name: str, inline: bool) -> str:
    """An ASCII fallback name for old clients and the exact name in RFC 5987 `filename*`."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;%' else "_" for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


async def stream_blob(request: Request, sha256: str, media_type: str, disposition: str, cache: str) -> Response:
    path = request.app.state.blobs.path(sha256)
    try:
        stat_result = await asyncio.to_thread(os.stat, path)
    except FileNotFoundError:
        raise ApiError(404, "file_not_found", "The file's bytes are missing.") from None
    etag = f'"{sha256[:32]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache,
        "Content-Disposition": disposition,
        "Content-Security-Policy": FILE_POLICY,  # X-Content-Type-Options: nosniff comes from routes/headers.py
    }
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={k: headers[k] for k in ("ETag", "Cache-Control")})
    http_range = request.headers.get("range")
    if http_range is not None:
        try:
            FileResponse._parse_range_header(http_range, stat_result.st_size)
        except MalformedRangeHeader:
            return JSON(error_body("bad_range", "The Range header cannot be read."), 400)
        except RangeNotSatisfiable:
            body = error_body("range_not_satisfiable", "The range starts past the end of the file.")
            return JSON(body, 416, headers={"Content-Range": f"bytes */{stat_result.st_size}"})
    return FileResponse(path, media_type=media_type, headers=headers, stat_result=stat_result)
