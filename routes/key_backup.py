"""The sealed key backup: one opaque blob per person, sealed by their device under a recovery key
the server never sees (docs/e2ee.md §10), with a version so two devices cannot overwrite each other."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from auth.tokens import require_user
from server.services import services_of
from store import StaleBackup
from wire import contract as c
from wire.bodies import read_json
from wire.contract import api
from wire.responses import JSON, ApiError, invalid

MAX_SEALED_CHARS = 1024 * 1024  # base64url characters
SEALED = re.compile(r"^[A-Za-z0-9_-]+$")
TOO_MANY = "Too many key backup changes; wait {wait} s."

BACKUP = c.obj(["version", "sealed"], version=c.ID, sealed={"type": "string", "maxLength": MAX_SEALED_CHARS})
PUT_BODY = c.obj(
    ["replaces", "sealed"],
    replaces=c.integer(0, 2**62),
    sealed={"type": "string", "pattern": SEALED.pattern, "maxLength": MAX_SEALED_CHARS},
)
VERSION = c.obj(["version"], version=c.ID)


async def _limited(request: Request) -> int:
    user_id, _ = await require_user(request)
    await services_of(request).limits.key_publishing_by_user.check(f"{user_id}:backup", TOO_MANY, fail_open=True)
    return user_id


@api("Your sealed key backup", {200: ("The backup", BACKUP)}, errors=(404, 429))
async def read(request: Request) -> JSON:
    user_id = await _limited(request)
    found = await services_of(request).store.key_backup(user_id)
    if found is None:
        raise ApiError(404, "backup_not_found", "You have no key backup.")
    version, sealed = found
    return JSON({"version": version, "sealed": sealed})


@api(
    "Store your sealed key backup in place of version `replaces` (0: there is none yet)",
    {200: ("Stored; its new version", VERSION)},
    errors=(409, 413, 429),
    body=PUT_BODY,
    description="409 stale_version when `replaces` is not the version stored now: read it, merge, try again.",
)
async def write(request: Request) -> JSON:
    user_id = await _limited(request)
    body = await read_json(request, MAX_SEALED_CHARS + 1024)
    replaces, sealed = body.get("replaces"), body.get("sealed")
    if not isinstance(replaces, int) or isinstance(replaces, bool) or not 0 <= replaces < 2**62:
        raise invalid("replaces", "replaces is the version you read (0 when there is none).")
    if not isinstance(sealed, str) or not SEALED.fullmatch(sealed):
        raise invalid("sealed", "sealed is the backup in base64url, without padding.")
    if len(sealed) > MAX_SEALED_CHARS:
        raise ApiError(413, "backup_too_large", f"A key backup is at most {MAX_SEALED_CHARS} characters.", "sealed")
    try:
        version = await services_of(request).store.put_key_backup(user_id, sealed, replaces)
    except StaleBackup as stale:
        raise ApiError(409, "stale_version", stale.message, "replaces") from None
    return JSON({"version": version})


@api("Delete your key backup", {204: ("Deleted", None)}, errors=(404, 429))
async def delete(request: Request) -> Response:
    user_id = await _limited(request)
    if not await services_of(request).store.delete_key_backup(user_id):
        raise ApiError(404, "backup_not_found", "You have no key backup.")
    return Response(status_code=204)
