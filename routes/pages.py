"""The app's files: public/ as they are, index.html for / and for profile links /u/{name}."""

from __future__ import annotations

import html
import re
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from server.services import services_of
from wire import contract as c
from wire import validate
from wire.contract import api
from wire.protocol import user_object

PUBLIC = Path(__file__).resolve().parent.parent / "public"
TITLE = re.compile(r"<title>.*?</title>", re.S)
DESCRIPTION = re.compile(r'<meta name="description"[^>]*>')


class PublicFiles(StaticFiles):
    """Static files that a browser revalidates every time (ETag), so a deployment shows at once;
    offline use is the service worker's job."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        if path.endswith(".webmanifest"):
            response.headers["Content-Type"] = "application/manifest+json"
        return response


def public_files() -> PublicFiles:
    PUBLIC.mkdir(exist_ok=True)
    return PublicFiles(directory=PUBLIC, html=True)


def profile_head(page: str, user: dict, url: str, image: str) -> str:
    """index.html with the title and link preview (Open Graph) of one person's profile."""
    name = user["display_name"] or user["username"]
    title = html.escape(f"{name} (@{user['username']}) · Payambar")
    about = html.escape(user["bio"] or f"Send {name} a message on Payambar.")
    tags = "\n  ".join(
        f'<meta property="{key}" content="{value}">'
        for key, value in (
            ("og:type", "profile"),
            ("og:site_name", "Payambar"),
            ("og:title", title),
            ("og:description", about),
            ("og:url", html.escape(url)),
            ("og:image", html.escape(image)),
            ("profile:username", html.escape(user["username"])),
        )
    )
    page = TITLE.sub(lambda _: f"<title>{title}</title>", page, count=1)
    page = DESCRIPTION.sub(lambda _: f'<meta name="description" content="{about}">', page, count=1)
    twitter = '<meta name="twitter:card" content="summary">'
    return page.replace("</head>", f"  {tags}\n  {twitter}\n</head>", 1)


@api(
    "The app's page for a profile (a link to share)",
    {200: ("The app", {"type": "string"})},
    path={"username": c.STRING},
    public=True,
    media_type="text/html",
)
async def profile_page(request: Request) -> Response:
    index = PUBLIC / "index.html"
    if not index.exists():
        return Response("Payambar", media_type="text/plain")
    page = await anyio.to_thread.run_sync(index.read_text)
    username = request.path_params["username"]
    user = (
        await services_of(request).store.user_by_username(username) if validate.USERNAME.fullmatch(username) else None
    )
    if user is not None:
        # Never the request's Host header: whoever sends the request chooses it. PUBLIC_URL, or a
        # link relative to wherever the page was fetched from.
        base = services_of(request).settings.public_url
        page = profile_head(page, user_object(user), f"{base}/u/{user.username}", f"{base}/icons/icon-512.png")
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
