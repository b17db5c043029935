"""Fetching a link's preview: http or https on the public internet only (every address checked at
connect time, each redirect checked again, at most 3), no cookies, no credentials, a bounded
time and size; the page's head read for what it says of itself, its image made into a small
JPEG here, in the bounded decode pool."""

from __future__ import annotations

import asyncio
import base64
import io
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from PIL import Image

from previews.page import read_head
from push.endpoint import EndpointRefused, PublicOnlyBackend, public_addresses

URL_MAX = 2048
PAGE_BYTES = 512 * 1024  # what is read of a page: its head is near the top
IMAGE_BYTES = 3 * 1024 * 1024
IMAGE_PIXELS = 25_000_000
IMAGE_DATA_BYTES = 16 * 1024  # the image in the message: it travels inside every envelope
IMAGE_SIDES = (320, 200, 120)
TOTAL_SECONDS = 8.0
MAX_REDIRECTS = 3
CACHE_SIZE = 256
CACHE_SECONDS = 600
USER_AGENT = "Mozilla/5.0 (compatible; PayambarLinkPreview/1.0)"
_HTML = ("text/html", "application/xhtml+xml")


class PreviewRefused(ValueError):
    """The URL is not one the server may fetch (scheme, host, port, a private address)."""


class NoPreview(LookupError):
    """The page did not answer, is not a page, or says nothing a preview could show."""


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    host: str
    port: int


def target_of(url: str, allow_private: bool) -> Target:
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        raise PreviewRefused(f"url is an http or https URL of at most {URL_MAX} characters")
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise PreviewRefused("url is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PreviewRefused("url is an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise PreviewRefused("url may not carry a user or password")
    if port not in (80, 443) and not allow_private:
        raise PreviewRefused("url must use port 80 or 443")
    return Target(parts._replace(fragment="").geturl(), parts.hostname, port)


class Previews:
    """The server's preview fetcher: one HTTP client, a small cache, decodes in `decode`."""

    def __init__(self, decode, allow_private: bool = False, ca_file: str = "") -> None:
        self.decode = decode
        self.allow_private = allow_private
        context = ssl.create_default_context()
        if ca_file:
            context.load_verify_locations(ca_file)
        transport = httpx.AsyncHTTPTransport(verify=context, trust_env=False)
        if not allow_private:
            transport._pool = httpcore.AsyncConnectionPool(
                ssl_context=context, max_connections=20, network_backend=PublicOnlyBackend()
            )
        self.client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(TOTAL_SECONDS, connect=4.0),
            headers={"user-agent": USER_AGENT, "accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"},
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # never keeps a cookie
        )
        self._cache: OrderedDict[str, tuple[float, dict]] = OrderedDict()

    async def close(self) -> None:
        await self.client.aclose()

    async def preview(self, url: str) -> dict:
        """{url, title, description?, site_name?, image?: {mime, width, height, data}}."""
        target = target_of(url, self.allow_private)
        cached = self._cache.get(target.url)
        if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
            self._cache.move_to_end(target.url)
            return cached[1]
        if not self.allow_private:
            await self._check_public(target)
        try:
            found = await asyncio.wait_for(self._fetch(target), TOTAL_SECONDS)
        except TimeoutError:
            raise NoPreview("the page took too long") from None
        self._cache[target.url] = (time.monotonic(), found)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return found

    async def _check_public(self, target: Target) -> None:
        try:
            await public_addresses(target.host, target.port)
        except EndpointRefused:
            raise PreviewRefused("url must be on a public address") from None

    async def _get(self, url: str, limit: int, kinds: tuple[str, ...]) -> tuple[str, str, bytes]:
        """(final URL, media type, at most `limit` bytes of the body), redirects followed and checked."""
        for _ in range(MAX_REDIRECTS + 1):
            target = target_of(url, self.allow_private)
            if not self.allow_private:
                await self._check_public(target)
            try:
                async with self.client.stream("GET", target.url) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(target.url, response.headers["location"])
                        continue
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if response.status_code != 200 or not kind.startswith(kinds):
                        raise NoPreview(f"the link answered {response.status_code} {kind or 'without a type'}")
                    body = bytearray()
                    async for piece in response.aiter_bytes():
                        body += piece
                        if len(body) >= limit:
                            break
                    return target.url, response.headers.get("content-type", ""), bytes(body[:limit])
            except httpx.HTTPError as error:
                raise NoPreview(f"the link could not be fetched ({type(error).__name__})") from None
        raise NoPreview("too many redirects")

    async def _fetch(self, target: Target) -> dict:
        final, content_type, body = await self._get(target.url, PAGE_BYTES, _HTML)
        head = read_head(_text(body, content_type), final)
        if "title" not in head:
            raise NoPreview("the page has no title")
        found: dict = {"url": target.url}
        found.update({key: head[key] for key in ("title", "description", "site_name") if key in head})
        if "image" in head:
            try:
                _, kind, data = await self._get(head["image"], IMAGE_BYTES + 1, ("image/",))
                if len(data) <= IMAGE_BYTES:
                    image = await self.decode(_small_jpeg, data)
                    if image:
                        found["image"] = image
            except (NoPreview, PreviewRefused):
                pass  # a preview without its picture
        return found


def _text(body: bytes, content_type: str) -> str:
    charset = "utf-8"
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"'")
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def _small_jpeg(data: bytes) -> dict | None:
    """The image as a JPEG of at most IMAGE_DATA_BYTES (its long side 320, 200 or 120 px), or None."""
    Image.MAX_IMAGE_PIXELS = IMAGE_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > IMAGE_PIXELS:
                return None
            image.draft("RGB", (IMAGE_SIDES[0], IMAGE_SIDES[0]))
            still = image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    for side in IMAGE_SIDES:
        small = still.copy()
        small.thumbnail((side, side))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=70, optimize=True)
        if out.tell() <= IMAGE_DATA_BYTES:
            data64 = base64.urlsafe_b64encode(out.getvalue()).rstrip(b"=").decode()
            return {"mime": "image/jpeg", "width": small.width, "height": small.height, "data": data64}
    return None
