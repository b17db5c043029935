"""The key directory over HTTP: publish your signed device list, your devices' bundles and
one-time prekeys; read another person's, and claim one of their one-time prekeys."""

from __future__ import annotations

import re

import orjson
from starlette.requests import Request

from auth.tokens import require_user, user_id_of
from payambar.e2ee import keys as e2ee_keys
from payambar.e2ee.primitives import b64, unb64
from server.services import services_of
from wire import contract as c
from wire.bodies import read_json
from wire.contract import api
from wire.protocol import dumps, keys_frame
from wire.responses import JSON, ApiError, invalid

DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
MAX_PREKEYS_PER_UPLOAD = 100

DEVICE_ID_SCHEMA = c.pattern(DEVICE_ID.pattern)
KEY = {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}
DEVICE_LIST = c.obj(
    ["user_id", "identity_key", "version", "timestamp", "devices", "signature"],
    user_id=c.ID,
    identity_key=KEY,
    version=c.ID,
    timestamp=c.integer(0, 2**62),
    devices={
        "type": "array",
        "maxItems": e2ee_keys.MAX_DEVICES,
        "items": c.obj(["device_id", "device_key"], device_id=DEVICE_ID_SCHEMA, device_key=KEY),
    },
    signature=KEY,
)
PREKEY = c.obj(["id", "key"], id=c.integer(1, 2**32 - 1), key=KEY)
BUNDLE = c.obj(
    ["device_id", "identity_dh", "signed_prekey", "pq_prekey", "signature"],
    device_id=DEVICE_ID_SCHEMA,
    identity_dh=KEY,
    signed_prekey=PREKEY,
    pq_prekey=PREKEY,
    signature=KEY,
)
ONE_TIME = c.obj(["id", "key", "signature"], id=c.integer(1, 2**32 - 1), key=KEY, signature=KEY)
PUBLISHED_LIST = c.obj(["device_list", "changed"], device_list=DEVICE_LIST, changed=c.BOOLEAN)


TOO_MANY_KEY_REQUESTS = "Too many key requests; wait {wait} s."


def _device_id(request: Request) -> str:
    raw = request.path_params["device_id"]
    if not DEVICE_ID.fullmatch(raw):
        raise ApiError(404, "device_not_found", "No such device.")
    return raw


def _bad_keys(error: e2ee_keys.BadKeys) -> ApiError:
    return invalid(error.field, f"The keys do not check out: {error}.")


async def _current_list(state, user_id: int) -> e2ee_keys.DeviceList | None:
    directory = await state.store.keys_of(user_id)
    return None if directory is None else e2ee_keys.parse_device_list(orjson.loads(directory.device_list))


async def _listed_device_key(state, user_id: int, device_id: str) -> bytes:
    device_list = await _current_list(state, user_id)
    key = None if device_list is None else device_list.device_key(unb64(device_id))
    if key is None:
        raise ApiError(404, "device_not_found", "That device is not in your device list.")
    return key


@api(
    "Publish your device list, signed by your identity key (docs/e2ee.md §3)",
    {200: ("The list now published", PUBLISHED_LIST)},
    errors=(403, 409, 429),
    body=DEVICE_LIST | {"properties": DEVICE_LIST["properties"] | {"reset": c.BOOLEAN}},
    description="version must grow; a list signed by another identity key needs reset: true (an identity"
    " reset, which every peer is shown). The same list again changes nothing. Your chat peers and your"
    " own connections get a keys frame when it changes.",
)
async def publish_device_list(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.key_publishing_by_user.check(str(user_id), TOO_MANY_KEY_REQUESTS, fail_open=True)
    body = await read_json(request)
    reset = body.pop("reset", False)
    if not isinstance(reset, bool):
        raise invalid("reset", "reset is true or false.")
    try:
        device_list = e2ee_keys.parse_device_list(body)
    except e2ee_keys.BadKeys as error:
        raise _bad_keys(error) from None
    if device_list.user_id != user_id:
        raise ApiError(403, "not_your_keys", "A device list names its owner's user id: yours is another.", "user_id")
    devices = [(b64(device_id), b64(device_key)) for device_id, device_key in device_list.devices]
    canonical = dumps(device_list.as_json())
    changed = await state.store.publish_device_list(
        user_id, b64(device_list.identity_key), device_list.version, canonical, devices, reset
    )
    if changed:
        await _tell_peers(state, user_id)
    return JSON({"device_list": device_list.as_json(), "changed": changed})


async def _tell_peers(state, user_id: int) -> None:
    frame = keys_frame(state.store.names[user_id])
    state.broadcaster.send(user_id, frame)
    for peer_id in await state.store.peer_ids(user_id):
        state.broadcaster.send(peer_id, frame)


@api(
    "Publish a bundle (device DH key, signed prekey, ML-KEM prekey) for a device in your list",
    {200: ("Published", c.obj(["bundle"], bundle=BUNDLE))},
    errors=(404, 429),
    path={"device_id": DEVICE_ID_SCHEMA},
    body=BUNDLE,
    description="Signed by the device key your device list names for it (docs/e2ee.md §4); it replaces the"
    " device's bundle before (prekey rotation).",
)
async def publish_bundle(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.key_publishing_by_user.check(str(user_id), TOO_MANY_KEY_REQUESTS, fail_open=True)
    device_id = _device_id(request)
    body = await read_json(request)
    device_key = await _listed_device_key(state, user_id, device_id)
    if body.get("device_id") != device_id:
        raise invalid("device_id", "The bundle's device_id is the one in the path.")
    try:
        bundle = e2ee_keys.parse_bundle(body, user_id, device_key)
    except e2ee_keys.BadKeys as error:
        raise _bad_keys(error) from None
    await state.store.publish_bundle(user_id, device_id, dumps(bundle.as_json()))
    return JSON({"bundle": bundle.as_json()})


@api(
    f"Upload one-time prekeys for a device in your list ({MAX_PREKEYS_PER_UPLOAD} at most at a time)",
    {200: ("How many the device has now", c.obj(["one_time_prekeys"], one_time_prekeys=c.INTEGER))},
    errors=(404, 409, 429),
    path={"device_id": DEVICE_ID_SCHEMA},
    body=c.obj(["prekeys"], prekeys=c.array(ONE_TIME) | {"minItems": 1, "maxItems": MAX_PREKEYS_PER_UPLOAD}),
    description="Each signed by the device key; a device keeps at most 200 (409 too_many_prekeys); an id it"
    " already has is kept as it was.",
)
async def upload_one_time_prekeys(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.key_publishing_by_user.check(str(user_id), TOO_MANY_KEY_REQUESTS, fail_open=True)
    device_id = _device_id(request)
    body = await read_json(request)
    prekeys = body.get("prekeys")
    if not isinstance(prekeys, list) or not 1 <= len(prekeys) <= MAX_PREKEYS_PER_UPLOAD:
        raise invalid("prekeys", f"prekeys is a list of 1 to {MAX_PREKEYS_PER_UPLOAD} one-time prekeys.")
    device_key = await _listed_device_key(state, user_id, device_id)
    parsed = []
    for prekey in prekeys:
        try:
            key_id, key, signature = e2ee_keys.parse_one_time(prekey, user_id, unb64(device_id), device_key)
        except e2ee_keys.BadKeys as error:
            raise _bad_keys(error) from None
        parsed.append((key_id, dumps({"id": key_id, "key": b64(key), "signature": b64(signature)})))
    count = await state.store.add_one_time_prekeys(user_id, device_id, parsed)
    return JSON({"one_time_prekeys": count})


@api(
    "One of your devices: its bundle and how many one-time prekeys it has left",
    {200: ("The device", c.obj(["bundle", "one_time_prekeys"], bundle=BUNDLE | {"type": ["object", "null"]},
                                one_time_prekeys=c.INTEGER))},
    errors=(404,),
    path={"device_id": DEVICE_ID_SCHEMA},
)  # fmt: skip
async def own_device(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    found = await services_of(request).store.own_device(user_id, _device_id(request))
    if found is None:
        raise ApiError(404, "device_not_found", "That device is not in your device list.")
    bundle, left = found
    return JSON({"bundle": None if bundle is None else orjson.Fragment(bundle), "one_time_prekeys": left})


@api(
    "A person's signed device list and their devices' bundles",
    {200: ("Their keys", c.obj(["user_id", "device_list", "bundles"], user_id=c.ID, device_list=DEVICE_LIST,
                               bundles=c.array(BUNDLE)))},
    errors=(404, 429),
    path={"username": c.USERNAME},
    description="404 no_keys for a person who never published keys (their chats stay plaintext). Check every"
    " signature yourself: the server is not trusted with them.",
)  # fmt: skip
async def keys_of_user(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.key_requests_by_user.check(str(user_id), TOO_MANY_KEY_REQUESTS, fail_open=True)
    owner = await user_id_of(state, request.path_params["username"])
    directory = await state.store.keys_of(owner)
    if directory is None or await state.accounts.is_deleted(owner):
        raise ApiError(404, "no_keys", "This person has no end-to-end encryption keys.")
    bundles = [orjson.Fragment(bundle) for bundle in directory.bundles]
    return JSON({"user_id": owner, "device_list": orjson.Fragment(directory.device_list), "bundles": bundles})


@api(
    "Claim a device's bundle with one of its one-time prekeys, to start a session with it",
    {200: ("The bundle, and a one-time prekey (null when none is left)",
           c.obj(["bundle", "one_time_prekey"], bundle=BUNDLE,
                 one_time_prekey=ONE_TIME | {"type": ["object", "null"]}))},
    errors=(404, 429),
    path={"username": c.USERNAME, "device_id": DEVICE_ID_SCHEMA},
    description="Each one-time prekey is handed out once, then deleted.",
)  # fmt: skip
async def claim(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    await state.limits.key_requests_by_user.check(str(user_id), TOO_MANY_KEY_REQUESTS, fail_open=True)
    owner = await user_id_of(state, request.path_params["username"])
    device_id = _device_id(request)
    claimed = None if await state.accounts.is_deleted(owner) else await state.store.claim(owner, device_id)
    if claimed is None:
        raise ApiError(404, "device_not_found", "No such device, or it has published no bundle.")
    bundle, prekey = claimed
    return JSON(
        {"bundle": orjson.Fragment(bundle), "one_time_prekey": None if prekey is None else orjson.Fragment(prekey)}
    )
