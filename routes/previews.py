"""Link previews over HTTP: POST /api/link-preview, asked by the sender's device before it sends
a link (the URL goes in the body, never in a logged query string)."""

from __future__ import annotations

from starlette.requests import Request

from auth.tokens import require_user
from previews.fetch import URL_MAX, NoPreview, PreviewRefused
from server.services import services_of
from wire import contract as c
from wire.bodies import read_json
from wire.contract import api
from wire.responses import JSON, ApiError, invalid

PREVIEW = c.obj(
    ["url", "title"],
    url=c.STRING,
    title=c.STRING,
    description=c.STRING,
    site_name=c.STRING,
    image=c.obj(["mime", "width", "height", "data"], mime=c.STRING, width=c.INTEGER, height=c.INTEGER, data=c.STRING),
)


@api(
    "A link's preview for a message you are about to send: title, description, a small image",
    {200: ("The preview, to put inside your message", PREVIEW)},
    errors=(404, 422, 429),
    body=c.obj(["url"], url={"type": "string", "minLength": 1, "maxLength": URL_MAX, "format": "uri"}),
    description="The server fetches the page (http or https on the public internet only, every redirect"
    " checked again, no cookies, at most 512 KiB in 8 s) and its og:image made into a JPEG of at most"
    " 16 KiB. It learns the URL, nothing else; the recipient's devices never contact the site. 404"
    " no_preview when the page does not answer or has no title, or previews_off when LINK_PREVIEWS=0;"
    " 422 url_refused for a private address, another scheme or port. 30 a minute per person.",
)
async def link_preview(request: Request) -> JSON:
    user_id, _ = await require_user(request)
    state = services_of(request)
    if not state.settings.link_previews:
        raise ApiError(404, "previews_off", "This server makes no link previews.")
    await state.limits.previews_by_user.check(str(user_id), "Too many link previews; wait {wait} s.")
    body = await read_json(request)
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise invalid("url", "url is the link to preview.")
    try:
        return JSON(await state.previews.preview(url))
    except PreviewRefused as refused:
        raise ApiError(422, "url_refused", str(refused), "url") from None
    except NoPreview as missing:
        raise ApiError(404, "no_preview", str(missing)) from None
