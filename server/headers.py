"""Security headers on every HTTP response (a plain ASGI middleware: no per-request tasks)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_PAGES = [(b"content-security-policy", CONTENT_SECURITY_POLICY.encode())]
# Only over https (uvicorn takes the scheme from a trusted proxy's X-Forwarded-Proto): a browser
# that once reached the app safely never falls back to plain http for a year.
_HTTPS_ONLY = [(b"strict-transport-security", b"max-age=31536000")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_api = scope["path"].startswith("/api/")
        is_https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_COMMON)
                if is_https:
                    headers.extend(_HTTPS_ONLY)
                if is_api and not any(name.lower() == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))  # unless the route chose (files do)
                else:
                    headers.extend(_PAGES)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
