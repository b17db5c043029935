"""The app's files: public/ as they are, index.html for / and for profile links /u/{name}."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from routes import contract as c
from routes.contract import api

PUBLIC = Path(__file__).resolve().parent.parent / "public"


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
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
