"""Web Push over HTTP: the server's public key, and a browser's subscription made or ended.
Also the `viewing` WebSocket frame: which chat a device shows, so that chat is not pushed."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import Response

from auth.tokens import require_user
from push.endpoint import EndpointRefused, check
from push.keys import b64url_decode
from server.services import services_of
from wire import contract as c
from wire.bodies import read_json
from wire.contract import api
from wire.responses import JSON, ApiError, invalid

# A browser subscribes once per login and again when its subscription changes: a handful a day.


@api("The server's Web Push public key", {200: ("The key", c.obj(["key"], key=c.STRING))}, public=True)
async def public_key(request: Request) -> JSON:
    return JSON({"key": services_of(request).push.sender.public_key})


def _key(keys: dict, name: str, length: int) -> str:
    value = keys.get(name)
    field = f"keys.{name}"
    if not isinstance(value, str) or not value or len(value) > 200:
        raise invalid(field, f"{field} must be base64url text.")
    try:
        raw = b64url_decode(value.strip().rstrip("="))
    except ValueError:
        raise invalid(field, f"{field} must be base64url text.") from None
    if len(raw) != length:
        raise invalid(field, f"{field} must be {length} bytes.")
    return value.strip().rstrip("=")


def _p256dh(keys: dict) -> str:
    value = _key(keys, "p256dh", 65)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(value))
    except ValueError:
        raise invalid("keys.p256dh", "keys.p256dh must be a P-256 public key.") from None
    return value


async def _endpoint(request: Request, body: dict) -> str:
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise invalid("endpoint", "endpoint must be a URL.")
    try:
        await check(endpoint, services_of(request).settings.push_allow_private)
    except EndpointRefused as refused:
        raise invalid("endpoint", f"The {refused}.") from None
    return endpoint


@api(
    "Subscribe this browser to Web Push",
    {201: ("Subscribed", c.obj(["endpoint"], endpoint=c.STRING))},
    errors=(429,),
    body=c.obj(
        ["endpoint", "keys"],
        endpoint={"type": "string", "minLength": 1, "format": "uri"},
        keys=c.obj(
            ["p256dh", "auth"], p256dh={"type": "string", "maxLength": 200}, auth={"type": "string", "maxLength": 200}
        ),
    ),
    description="endpoint: an https URL of a push service on the public internet; keys as the browser gives them.",
    scopes=("account",),
)
async def subscribe(request: Request) -> JSON:
    user_id, session_id = await require_user(request, "account")
    await services_of(request).limits.push_changes_by_user.check(str(user_id))
    body = await read_json(request)
    keys = body.get("keys")
    if not isinstance(keys, dict):
        raise invalid("keys", "keys must be an object with p256dh and auth.")
    p256dh, auth = _p256dh(keys), _key(keys, "auth", 16)
    endpoint = await _endpoint(request, body)
    await services_of(request).push_subscriptions.add(user_id, session_id, endpoint, p256dh, auth)
    return JSON({"endpoint": endpoint}, 201)


@api(
    "End a Web Push subscription",
    {204: ("Ended", None)},
    errors=(404, 429),
    body=c.obj(["endpoint"], endpoint={"type": "string", "minLength": 1}),
    scopes=("account",),
)
async def unsubscribe(request: Request) -> Response:
    user_id, _ = await require_user(request, "account")
    await services_of(request).limits.push_changes_by_user.check(str(user_id))
    body = await read_json(request)
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise invalid("endpoint", "endpoint must be a URL.")
    if not await services_of(request).push_subscriptions.remove(endpoint, user_id):
        raise ApiError(404, "not_found", "No such subscription.")
    return Response(status_code=204)
