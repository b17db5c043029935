"""Resumable uploads, tus 1.0 (core, creation, termination, expiration) at /api/uploads.

An upload belongs to the user who created it: to anyone else it does not exist (404). Its bytes
arrive in PATCH requests, streamed to the partial file a chunk at a time, so a cut connection
keeps every byte that arrived and the client resumes from the offset HEAD reports. Any kind of
file is taken; when the last byte is in, the upload becomes a file with the same id, its kind
told from all of its bytes (see media/process.py). An upload marked `encrypted` in its metadata
is ciphertext sealed by its sender and is kept exactly as it came.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import os
import re
import secrets
import time
import unicodedata
from email.utils import formatdate

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from auth.tokens import require_user
from media import process
from media.blobs import UPLOAD_ID
from server.services import services_of
from store import QuotaExceeded, StoredFile, Upload, now_ms
from wire.contract import api, integer, pattern, required
from wire.responses import ApiError

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
OFFSET_TYPE = "application/offset+octet-stream"
WRITE_CHUNK = 256 * 1024  # bytes gathered before each write: a cut loses at most this much
NAME_MAX = 200
LOCK_WAIT_SECONDS = 3
# What a browser on another origin (CORS_ORIGINS) may send and read.
TUS_REQUEST_HEADERS = ["tus-resumable", "upload-length", "upload-metadata", "upload-offset"]
TUS_RESPONSE_HEADERS = ["Location", "Upload-Offset", "Upload-Length", "Upload-Expires", "Tus-Resumable",
                        "Tus-Version", "Tus-Extension", "Tus-Max-Size", "Upload-File"]  # fmt: skip


# ---- the contract: what the routes below accept ---------------------------------------------------
TUS_RESUMABLE = {"Tus-Resumable": required({"type": "string", "const": TUS_VERSION})}
UPLOAD_PATH = {"upload_id": pattern(f"^{UPLOAD_ID.pattern}$")}
# `key base64,key base64,…`: a key is printable ASCII but space and comma, a value is the base64
# of the raw bytes and may be left out (a name that is not UTF-8 is repaired).
_BASE64 = "(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"
_PAIR = f"[!-+\\--~]+(?: {_BASE64})?"
METADATA_GRAMMAR = re.compile(f"(?:{_PAIR}(?:,{_PAIR})*)?")
METADATA = pattern(f"^{METADATA_GRAMMAR.pattern}$")


def _length(settings) -> dict:
    return required(integer(1, settings.media.max_upload_bytes))


def _offset(settings) -> dict:
    return required(integer(0, settings.media.max_upload_bytes))


def tus_error(status: int, code: str, message: str, **headers: str) -> ApiError:
    return ApiError(status, code, message, headers={"Tus-Resumable": TUS_VERSION, **headers})


def _answer(status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, headers={"Tus-Resumable": TUS_VERSION, **(headers or {})})


def _http_date(ms: int) -> str:
    return formatdate(ms / 1000, usegmt=True)


def _check_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise tus_error(412, "tus_version", "Send Tus-Resumable: 1.0.0.", **{"Tus-Version": TUS_VERSION})


def _settings(request: Request):
    return services_of(request).settings.media


async def _caller(request: Request) -> int:
    try:
        user_id, _ = await require_user(request)
    except ApiError as error:
        error.headers = {**(error.headers or {}), "Tus-Resumable": TUS_VERSION}
        raise
    _check_version(request)
    return user_id


def safe_name(raw: str) -> str:
    """A file name fit to store and show: no folders, no control characters, not too long."""
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    return name[:NAME_MAX] or "file"


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs."""
    if header is None:
        return {}
    if not METADATA_GRAMMAR.fullmatch(header):
        raise tus_error(400, "bad_metadata", "Upload-Metadata is comma-separated `key base64value` pairs.")
    found = {}
    for pair in header.split(",") if header else ():
        key, _, value = pair.partition(" ")
        found[key] = base64.b64decode(value).decode(errors="replace")
    return found


def _encrypted(metadata: dict[str, str]) -> bool:
    """Whether the metadata marks the upload as sealed end to end: `encrypted` with the value 1."""
    if "encrypted" not in metadata:
        return False
    if metadata["encrypted"] not in ("", "1"):
        raise tus_error(400, "bad_metadata", "Upload-Metadata `encrypted` is 1 (MQ==) or left out.")
    return True


def _whole_number(request: Request, header: str) -> int:
    raw = request.headers.get(header, "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise tus_error(400, "bad_header", f"{header} must be a whole number.")
    return int(raw)


@api(
    "tus discovery: the protocol version, extensions and largest upload this server takes",
    {204: ("Answered in the Tus-Version, Tus-Extension and Tus-Max-Size headers", None)},
    public=True,
)
async def options(request: Request) -> Response:
    # Discovery needs no token: a browser's CORS preflight cannot carry one, and it tells only limits.
    return _answer(
        204,
        {
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": TUS_EXTENSIONS,
            "Tus-Max-Size": str(_settings(request).max_upload_bytes),
        },
    )


@api(
    "tus creation: start an upload of Upload-Length bytes",
    {201: ("Created; Location names the upload", None)},
    errors=(400, 412, 413, 422, 429),
    headers=lambda settings: {
        **TUS_RESUMABLE,
        "Upload-Length": _length(settings),
        "Upload-Metadata": METADATA
        | {"description": "filename <base64 of the name>, and encrypted MQ== (base64 of 1) for ciphertext"},
    },
    answer_headers={"Location": "the upload's URL", "Upload-Expires": "when an unfinished upload is dropped"},
    description="Over the quota (finished files plus unfinished uploads) the answer is 413.",
)
async def create(request: Request) -> Response:
    user_id = await _caller(request)
    media = _settings(request)
    if "upload-defer-length" in request.headers:
        raise tus_error(400, "defer_length_unsupported", "Give Upload-Length when creating an upload.")
    length = _whole_number(request, "upload-length")
    if length > media.max_upload_bytes:
        raise tus_error(
            413,
            "file_too_large",
            f"A file may be at most {media.max_upload_bytes} bytes.",
            **{"Tus-Max-Size": str(media.max_upload_bytes)},
        )
    if length == 0:
        raise tus_error(422, "empty_file", "The file is empty.")
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    name = safe_name(metadata.get("filename") or metadata.get("name") or "")
    encrypted = _encrypted(metadata)
    state = services_of(request)
    wait = await state.limits.uploads_by_user.take_unless_over(f"{user_id}:create")
    if wait:
        raise tus_error(429, "rate_limited", "Too many uploads started; try again later.", **{"Retry-After": str(wait)})
    created = now_ms()
    upload = Upload(
        secrets.token_urlsafe(16),
        user_id,
        name,
        length,
        created,
        created + media.upload_expiry_seconds * 1000,
        encrypted,
    )
    try:
        await state.files.create_upload(upload, media.quota_bytes)
    except QuotaExceeded as error:
        raise tus_error(413, error.code, error.message) from None
    await asyncio.to_thread(state.blobs.partial_path(upload.id).touch)
    return _answer(201, {"Location": f"/api/uploads/{upload.id}", "Upload-Expires": _http_date(upload.expires_at)})


async def _own_upload(request: Request, user_id: int) -> Upload:
    upload_id = request.path_params["upload_id"]
    upload = await services_of(request).files.upload(upload_id) if UPLOAD_ID.fullmatch(upload_id) else None
    if upload is None or upload.user_id != user_id or upload.expires_at <= now_ms():
        raise tus_error(404, "upload_not_found", "No such upload.")
    return upload


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return -1


@api(
    "tus: how many bytes of the upload the server has",
    {200: ("Answered in Upload-Offset and Upload-Length", None)},
    errors=(404, 412),
    path=UPLOAD_PATH,
    headers=TUS_RESUMABLE,
    answer_headers={"Upload-Offset": "bytes received", "Upload-Length": "bytes in all"},
)
async def head(request: Request) -> Response:
    user_id = await _caller(request)
    _check_version(request)
    upload_id = request.path_params["upload_id"]
    state = services_of(request)
    no_store = {"Cache-Control": "no-store"}
    if UPLOAD_ID.fullmatch(upload_id):
        finished = await state.files.file(upload_id)
        if finished is not None and finished.owner_id == user_id:
            # Finished: the whole of it is here (a client resuming after a reload learns it is done).
            size = str(finished.size)
            return _answer(200, {"Upload-Offset": size, "Upload-Length": size, **no_store})
    upload = await _own_upload(request, user_id)
    offset = await asyncio.to_thread(_size, state.blobs.partial_path(upload.id))
    if offset < 0:
        raise tus_error(404, "upload_not_found", "No such upload.")
    return _answer(
        200,
        {
            "Upload-Offset": str(offset),
            "Upload-Length": str(upload.length),
            "Upload-Expires": _http_date(upload.expires_at),
            **no_store,
        },
    )


@api(
    "tus termination: drop an unfinished upload",
    {204: ("Dropped", None)},
    errors=(404, 412),
    path=UPLOAD_PATH,
    headers=TUS_RESUMABLE,
)
async def terminate(request: Request) -> Response:
    user_id = await _caller(request)
    _check_version(request)
    upload = await _own_upload(request, user_id)
    await _discard(services_of(request), upload.id)
    return _answer(204)


async def _discard(state, upload_id: str) -> None:
    await state.files.delete_uploads([upload_id])
    await asyncio.to_thread(state.blobs.partial_path(upload_id).unlink, True)


@api(
    "tus: append bytes at Upload-Offset; the last ones make the file",
    {204: ("Answered in Upload-Offset; Upload-File names the file once the last byte is in", None)},
    errors=(400, 404, 409, 412, 422, 423),
    path=UPLOAD_PATH,
    headers=lambda settings: {**TUS_RESUMABLE, "Upload-Offset": _offset(settings)},
    body={"type": "string", "format": "binary"},
    body_type=OFFSET_TYPE,
    answer_headers={"Upload-Offset": "bytes received", "Upload-File": "the file's id, when finished"},
    description="409 when Upload-Offset is not where the upload stands.",
)
async def append(request: Request) -> Response:
    user_id = await _caller(request)
    _check_version(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != OFFSET_TYPE:
        raise tus_error(415, "bad_content_type", f"PATCH bodies are {OFFSET_TYPE}.")
    offset = _whole_number(request, "upload-offset")
    upload = await _own_upload(request, user_id)
    state = services_of(request)
    path = state.blobs.partial_path(upload.id)
    try:
        handle = await asyncio.to_thread(open, path, "r+b")
    except FileNotFoundError:
        raise tus_error(404, "upload_not_found", "No such upload.") from None
    try:
        # One writer per upload: the lock is on the open file, so it holds between requests of
        # this process, worker processes, and instances sharing FILES_DIR where the file system
        # honours it.
        if not await _lock(handle):
            raise tus_error(423, "upload_busy", "Another request is writing this upload; try again.")
        current = await asyncio.to_thread(_end_of, handle)
        if offset != current:
            raise tus_error(409, "offset_mismatch", "Upload-Offset is not where the upload stands.", **{
                "Upload-Offset": str(current)
            })  # fmt: skip
        written = await _receive(request, state, upload, handle, current)
        if written < upload.length:
            return _answer(204, {"Upload-Offset": str(written), "Upload-Expires": _http_date(upload.expires_at)})
        stored = await _finish(state, upload)
        return _answer(204, {"Upload-Offset": str(written), "Upload-File": stored.id})
    finally:
        await asyncio.to_thread(handle.close)  # closing releases the file lock


async def _lock(handle) -> bool:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # never blocks: no thread needed
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)


def _end_of(handle) -> int:
    return handle.seek(0, os.SEEK_END)


async def _receive(request: Request, state, upload: Upload, handle, current: int) -> int:
    """Streams the body to the end of the file, a buffer at a time; the new offset. What
    arrived before a cut connection is kept."""
    written = current
    pending: list[bytes] = []
    pending_size = 0
    try:
        async for chunk in request.stream():
            if written + pending_size + len(chunk) > upload.length:
                raise tus_error(413, "beyond_length", "The body goes past Upload-Length.", **{
                    "Upload-Offset": str(written)
                })  # fmt: skip
            pending.append(chunk)
            pending_size += len(chunk)
            if pending_size >= WRITE_CHUNK:
                await asyncio.to_thread(_write, handle, pending)
                written += pending_size
                pending, pending_size = [], 0
    except ClientDisconnect:
        pass  # keep what arrived: the client asks HEAD for the offset and goes on from there
    if pending:
        await asyncio.to_thread(_write, handle, pending)
        written += pending_size
    return written


def _write(handle, chunks: list[bytes]) -> None:
    for chunk in chunks:
        handle.write(chunk)
    handle.flush()


async def _finish(state, upload: Upload) -> StoredFile:
    media = state.settings.media
    path = state.blobs.partial_path(upload.id)
    try:
        photo = await asyncio.to_thread(process.is_image, path, upload.name, upload.encrypted)
        run = state.image_decodes.run if photo else asyncio.to_thread
        done = await run(process.finish, state.blobs, path, upload.name, media.max_image_pixels, upload.encrypted)
    except process.Refused as refusal:
        await _discard(state, upload.id)
        raise tus_error(refusal.status, refusal.code, refusal.message) from None
    details = done.details
    waveform = details.get("waveform")
    stored = StoredFile(
        id=upload.id,
        owner_id=upload.user_id,
        sha256=done.sha256,
        name=done.name,
        mime=done.mime,
        size=done.size,
        width=details.get("width"),
        height=details.get("height"),
        duration_ms=details.get("duration_ms"),
        waveform=None if waveform is None else ",".join(map(str, waveform)).join("[]"),
        blurhash=details.get("blurhash"),
        thumbnail_sha256=done.thumbnail_sha256,
        created_at=now_ms(),
        encrypted=upload.encrypted,
    )
    return await state.files.finish_upload(stored)
