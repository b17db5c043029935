"""Profile photos: set one from an uploaded image, remove it, and serve it to anyone.

The URL of a photo carries its version (`?v=`), so it changes when the photo does and each
version can be cached for good; sizes are 64, 256 and 640 pixels square.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from auth.tokens import require_user
from media import process, sniff
from media.blobs import UPLOAD_ID
from media.images import AVATAR_SIZES
from server.services import services_of
from store import Avatar
from wire import validate
from wire.bodies import read_json
from wire.contract import api, obj, pattern
from wire.downloads import content_disposition, stream_blob
from wire.protocol import profile_frame
from wire.responses import JSON, ApiError, invalid, rate_limited

DEFAULT_SIZE = 256
FOREVER = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"


def avatar_url(username: str, version: str | None) -> str | None:
    return None if version is None else f"/api/users/{username}/avatar?v={version}"


@api(
    "Make one of your uploaded images your profile photo",
    {200: ("The photo's URL", obj(["avatar"], avatar={"type": "string"}))},
    errors=(404, 429),
    body=obj(["file_id"], file_id=pattern(f"^{UPLOAD_ID.pattern}$")),
    scopes=("account",),
)
async def set_avatar(request: Request) -> JSON:
    user_id, _ = await require_user(request, "account")
    body = await read_json(request)
    file_id = body.get("file_id")
    if not isinstance(file_id, str) or not UPLOAD_ID.fullmatch(file_id):
        raise invalid("file_id", "file_id must be the id of an uploaded photo.")
    state = services_of(request)
    photo = await state.files.file(file_id)
    if photo is None or photo.owner_id != user_id:
        raise ApiError(404, "file_not_found", "No such file.")
    if photo.mime not in sniff.IMAGE_TYPES:
        raise invalid("file_id", "A profile photo must be a JPEG, PNG, GIF or WebP image.")
    wait = await state.limits.uploads_by_user.take_unless_over(f"{user_id}:avatar")
    if wait:
        raise rate_limited(wait, "Too many photo changes; try again later.")
    source = state.blobs.path(photo.sha256)
    try:
        sizes = await state.image_decodes.run(
            process.avatar, state.blobs, source, photo.mime, state.settings.media.max_image_pixels
        )
    except process.Refused as refusal:
        raise ApiError(refusal.status, refusal.code, refusal.message) from None
    avatar = Avatar(sizes[640][:16], sizes[64], sizes[256], sizes[640])
    await state.files.set_avatar(user_id, avatar)
    user = await _tell_peers(state, user_id)
    return JSON({"avatar": avatar_url(user.username, avatar.version)})


@api("Remove your profile photo", {204: ("Removed", None)}, scopes=("account",))
async def delete_avatar(request: Request) -> Response:
    user_id, _ = await require_user(request, "account")
    state = services_of(request)
    await state.files.set_avatar(user_id, None)
    await _tell_peers(state, user_id)
    return Response(status_code=204)


async def _tell_peers(state, user_id: int):
    """The `profile` frame to the user's devices and the people they chat with; the user as now stored."""
    user = await state.store.user_by_id(user_id)
    frame = profile_frame(user)
    state.broadcaster.send(user_id, frame)
    for peer_id in await state.store.peer_ids(user_id):
        state.broadcaster.send(peer_id, frame)
    return user


@api(
    "A profile photo, square JPEG (cached for good when v is the current version)",
    {200: ("The photo", {"type": "string", "format": "binary"}), 304: ("Not modified", None)},
    errors=(400, 404, 416),
    path={"username": pattern(f"^{validate.USERNAME.pattern}$")},
    query={"size": {"type": "integer", "enum": sorted(AVATAR_SIZES)}, "v": {"type": "string"}},
    headers={"Range": pattern("^bytes=[0-9]{1,15}-[0-9]{0,15}$")},
    media_type="image/jpeg",
    public=True,
)
async def serve(request: Request) -> Response:
    username = request.path_params["username"]
    state = services_of(request)
    user_id = await state.store.user_id(username) if validate.USERNAME.fullmatch(username) else None
    avatar = await state.files.avatar(user_id) if user_id is not None else None
    if avatar is None:
        raise ApiError(404, "avatar_not_found", "This user has no profile photo.")
    raw_size = request.query_params.get("size", str(DEFAULT_SIZE))
    if not raw_size.isdigit() or int(raw_size) not in AVATAR_SIZES:
        raise invalid("size", "size is 64, 256 or 640.")
    cache = FOREVER if request.query_params.get("v") == avatar.version else REVALIDATE
    disposition = content_disposition(f"{username}-{raw_size}.jpg", True)
    sha256 = avatar.sha256_for(int(raw_size))
    return await stream_blob(request, services_of(request).blobs.path(sha256), sha256, "image/jpeg", disposition, cache)
