"""The device link relay over HTTP (docs/e2ee.md §9): a new device posts its commitment, an
approving device of the same person answers with its ephemeral key, the new device reveals its
values, the approving device posts the sealed payload. Each side reads (or waits for) the other's
slot. Only the person's own logged-in devices see a link; each slot is written once."""

from __future__ import annotations

import asyncio
import re
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from auth.tokens import require_browser_session
from payambar.e2ee import link as e2ee_link
from payambar.e2ee.primitives import unb64
from server.services import services_of
from store import Link
from wire import contract as c
from wire.bodies import query_int, read_json
from wire.contract import api
from wire.protocol import iso, link_frame
from wire.responses import JSON, ApiError, invalid

LINK_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")  # 24 random bytes
STATES = ("requested", "answered", "revealed", "sealed")
SMALL_BODY = 2048
MAX_SEALED_CHARS = 128 * 1024  # base64url characters: the identity seed, a list of 16, a long verified list
MAX_WAIT_SECONDS = 25
RECHECK_SECONDS = 2.0  # a frame from another instance may be lost: look at the row again this often
TOO_MANY_LINKS = "Too many device links started; wait {wait} s."
TOO_MANY_CALLS = "Too many device link calls; wait {wait} s."

B64 = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}
KEY_32 = B64 | {"minLength": 43, "maxLength": 43}
LINK = c.obj(
    ["id", "state", "commitment", "existing_key", "revealed", "sealed", "from_this_device", "created_at",
     "expires_at"],
    id=c.pattern(LINK_ID.pattern),
    state={"type": "string", "enum": list(STATES)},
    commitment=KEY_32,
    existing_key=KEY_32 | {"type": ["string", "null"]},
    revealed=B64 | {"type": ["string", "null"], "minLength": 96, "maxLength": 96},
    sealed=B64 | {"type": ["string", "null"], "maxLength": MAX_SEALED_CHARS},
    from_this_device=c.BOOLEAN,
    created_at=c.TIME,
    expires_at=c.TIME,
)  # fmt: skip
LINK_PATH = {"link_id": c.pattern(LINK_ID.pattern)}


def link_json(link: Link, session_id: str) -> dict:
    return {
        "id": link.id,
        "state": link.state,
        "commitment": link.commitment,
        "existing_key": link.existing_key,
        "revealed": link.revealed,
        "sealed": link.sealed,
        "from_this_device": link.created_by == session_id,
        "created_at": iso(link.created_at),
        "expires_at": iso(link.expires_at),
    }


async def _caller(request: Request) -> tuple[int, str]:
    user_id, session_id = await require_browser_session(request)
    await services_of(request).limits.key_link_calls_by_user.check(str(user_id), TOO_MANY_CALLS, fail_open=True)
    return user_id, session_id


def _link_id(request: Request) -> str:
    raw = request.path_params["link_id"]
    if not LINK_ID.fullmatch(raw):
        raise _not_found()
    return raw


def _not_found() -> ApiError:
    return ApiError(404, "link_not_found", "No such device link.")


def _live(link: Link | None) -> Link:
    if link is None:
        raise _not_found()
    if link.expires_at <= int(time.time() * 1000):
        raise ApiError(410, "link_expired", "This device link has expired: start again on the new device.")
    return link


def _bytes(body: dict, name: str, length: int) -> str:
    value = body.get(name)
    not_base64 = invalid(name, f"{name} is base64url without padding.")
    if not isinstance(value, str):
        raise not_base64
    try:
        data = unb64(value)
    except ValueError:
        raise not_base64 from None
    if len(data) != length:
        raise invalid(name, f"{name} is {length} bytes.")
    return value


def _tell(request: Request, link: Link) -> None:
    services_of(request).broadcaster.send(link.user_id, link_frame(link.id, link.state))


@api(
    "Ask to link this device: post the commitment to its link values (new device)",
    {201: ("The link, for ten minutes", LINK)},
    errors=(429,),
    body=c.obj(["commitment"], commitment=KEY_32),
    scopes=(),
    description='commitment = SHA-256("payambar/link-commit/v1" 0x00 || LN public || device id || device key),'
    " 32 bytes. Your other connections get a link frame. At most 20 a person an hour.",
)
async def create(request: Request) -> JSON:
    user_id, session_id = await _caller(request)
    state = services_of(request)
    await state.limits.key_links_by_user.check(str(user_id), TOO_MANY_LINKS, fail_open=True)
    body = await read_json(request, SMALL_BODY)
    commitment = _bytes(body, "commitment", 32)
    link = await state.store.create_link(secrets.token_urlsafe(24), user_id, session_id, commitment)
    _tell(request, link)
    return JSON(link_json(link, session_id), 201)


@api(
    "Your device links that have not expired, newest first (approving device)",
    {200: ("The links", c.obj(["links"], links=c.array(LINK)))},
    errors=(429,),
    scopes=(),
)
async def pending(request: Request) -> JSON:
    user_id, session_id = await _caller(request)
    links = await services_of(request).store.links_of(user_id)
    return JSON({"links": [link_json(link, session_id) for link in links]})


@api(
    "One of your device links; with `after` and `wait`, waits until it is past that state",
    {200: ("The link (still at `after` when the wait ran out)", LINK)},
    errors=(404, 410, 429),
    path=LINK_PATH,
    query={"after": {"type": "string", "enum": list(STATES)}, "wait": c.integer(0, MAX_WAIT_SECONDS, 0)},
    scopes=(),
    description="404 link_not_found for a link that is not yours, or was closed; 410 link_expired past its ten"
    " minutes.",
)
async def read(request: Request) -> JSON:
    user_id, session_id = await _caller(request)
    link_id = _link_id(request)
    after = request.query_params.get("after")
    if after is not None and after not in STATES:
        raise invalid("after", f"after is one of {', '.join(STATES)}.")
    wait = query_int(request, "wait", 0, 0, MAX_WAIT_SECONDS)
    state = services_of(request)
    link = _live(await state.store.link(user_id, link_id))
    if after is None or wait == 0 or STATES.index(link.state) > STATES.index(after):
        return JSON(link_json(link, session_id))
    return JSON(link_json(await _wait_past(request, user_id, link_id, after, wait), session_id))


async def _wait_past(request: Request, user_id: int, link_id: str, after: str, wait: int) -> Link:
    """The link once it is past `after`, or as it is when `wait` seconds are up. Woken by this
    person's frames (a link frame from any instance), and looking again every few seconds."""
    state = services_of(request)
    subscriber = state.broadcaster.new_subscriber(user_id)
    await state.presence.connected(subscriber, await state.store.peer_ids(user_id))
    deadline = time.monotonic() + wait
    try:
        while True:
            link = _live(await state.store.link(user_id, link_id))
            remaining = deadline - time.monotonic()
            if STATES.index(link.state) > STATES.index(after) or remaining <= 0:
                return link
            if subscriber.kicked or subscriber.overflowed:  # frames no longer come: just look again
                await asyncio.sleep(min(remaining, RECHECK_SECONDS))
                continue
            try:
                await asyncio.wait_for(subscriber.next_frames(), min(remaining, RECHECK_SECONDS))
            except TimeoutError:
                pass
    finally:
        await state.presence.disconnected(subscriber)


async def _fill(request: Request, user_id: int, session_id: str, link_id: str, slot: str, value: str) -> JSON:
    link = await services_of(request).store.fill_link(user_id, link_id, session_id, slot, value)
    _tell(request, link)
    return JSON(link_json(link, session_id))


@api(
    "Answer a link with this device's ephemeral key (approving device)",
    {200: ("The link, answered", LINK)},
    errors=(403, 404, 409, 410, 429),
    path=LINK_PATH,
    body=c.obj(["existing_key"], existing_key=KEY_32),
    scopes=(),
    description="existing_key is LE public (32 bytes). 403 wrong_device from the device that asked; 409"
    " already_written when another device answered first.",
)
async def answer(request: Request) -> JSON:
    user_id, session_id = await _caller(request)
    link_id = _link_id(request)
    body = await read_json(request, SMALL_BODY)
    value = _bytes(body, "existing_key", 32)
    return await _fill(request, user_id, session_id, link_id, "existing_key", value)


@api(
    "Reveal this device's link values, after the answer (new device)",
    {200: ("The link, revealed", LINK)},
    errors=(403, 404, 409, 410, 429),
    path=LINK_PATH,
    body=c.obj(["revealed"], revealed=B64 | {"minLength": 96, "maxLength": 96}),
    scopes=(),
    description="revealed is LN public || device id || device key (72 bytes), the bytes of the QR code; 422"
    " commitment_mismatch when they are not what the commitment named. 409 not_answered before an answer.",
)
async def reveal(request: Request) -> JSON:
    user_id, session_id = await _caller(request)
    link_id = _link_id(request)
    body = await read_json(request, SMALL_BODY)
    value = _bytes(body, "revealed", e2ee_link.REVEALED_BYTES)
    link = _live(await services_of(request).store.link(user_id, link_id))
    if e2ee_link.commitment(unb64(value)) != unb64(link.commitment):
        raise ApiError(422, "commitment_mismatch", "These are not the values the link committed to.", "revealed")
    return await _fill(request, user_id, session_id, link_id, "revealed", value)


@api(
    "Post the sealed payload: the identity key and the new device list (approving device)",
    {200: ("The link, sealed", LINK)},
    errors=(403, 404, 409, 410, 413, 429),
    path=LINK_PATH,
    body=c.obj(["sealed"], sealed=B64 | {"maxLength": MAX_SEALED_CHARS}),
    scopes=(),
    description="AES-256-GCM under the link's key (docs/e2ee.md §9), base64url. Only the device that answered"
    f" (403 wrong_device); at most {MAX_SEALED_CHARS} characters (413 link_payload_too_large).",
)
async def seal(request: Request) -> JSON:
    user_id, session_id = await _caller(request)
    link_id = _link_id(request)
    body = await read_json(request, MAX_SEALED_CHARS + SMALL_BODY)
    sealed = body.get("sealed")
    if not isinstance(sealed, str) or not re.fullmatch(B64["pattern"], sealed):
        raise invalid("sealed", "sealed is base64url without padding.")
    if len(sealed) > MAX_SEALED_CHARS:
        raise ApiError(
            413, "link_payload_too_large", f"A link payload is at most {MAX_SEALED_CHARS} characters.", "sealed"
        )
    try:
        if len(unb64(sealed)) < 16:
            raise ValueError
    except ValueError:
        raise invalid("sealed", "sealed is an AES-256-GCM ciphertext in base64url.") from None
    return await _fill(request, user_id, session_id, link_id, "sealed", sealed)


@api(
    "Close a device link (either side: done, cancelled or the codes differ)",
    {204: ("Closed", None)},
    errors=(404, 429),
    path=LINK_PATH,
    scopes=(),
    description="The other side's next read is 404 link_not_found; your connections get a link frame with"
    " state closed.",
)
async def close(request: Request) -> Response:
    user_id, _ = await _caller(request)
    link_id = _link_id(request)
    state = services_of(request)
    if not await state.store.delete_link(user_id, link_id):
        raise _not_found()
    state.broadcaster.send(user_id, link_frame(link_id, "closed"))
    return Response(status_code=204)
