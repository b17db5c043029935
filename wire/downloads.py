"""Sending stored bytes: the download headers (name, caching, the sandbox policy) and Range."""

from __future__ import annotations

import asyncio
import os
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, MalformedRangeHeader, RangeNotSatisfiable, Response

from wire.protocol import error_body
from wire.responses import JSON, ApiError

# Served files never run as a page of the app's origin.
FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def content_disposition(name: str, inline: bool) -> str:
    """An ASCII fallback name for old clients and the exact name in RFC 5987 `filename*`."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;%' else "_" for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(name, safe='')}"


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    return header.strip() == "*" or etag in (tag.strip().removeprefix("W/") for tag in header.split(","))


async def stream_blob(
    request: Request, path: str | os.PathLike[str], sha256: str, media_type: str, disposition: str, cache: str
) -> Response:
    try:
        stat_result = await asyncio.to_thread(os.stat, path)
    except FileNotFoundError:
        raise ApiError(404, "file_not_found", "The file's bytes are missing.") from None
    etag = f'"{sha256[:32]}"'
    headers = {
        "ETag": etag,
        "Cache-Control": cache,
        "Content-Disposition": disposition,
        "Content-Security-Policy": FILE_POLICY,  # X-Content-Type-Options: nosniff comes from server/headers.py
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
