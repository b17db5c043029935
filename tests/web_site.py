"""A small web site on a free loopback port for the link preview tests: a page that says what it is
in Open Graph tags (with a cookie, a bidi override and an image), redirects, a loop, pages without
a title, a huge page and a slow one; it records every request it gets."""

from __future__ import annotations

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>ignored when og:title is there</title>
<meta property="og:title" content="\u202eسفر به   اصفهان">
<meta property="og:description" content="میدان نقش جهان،
پل خواجو">
<meta property="og:site_name" content="سفرنامه">
<meta property="og:image" content="/picture.png">
</head><body><p>the body is not read</p><meta property="og:title" content="not this"></body></html>"""


def picture() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((1200, 800), 60).convert("RGB").save(out, "PNG")
    return out.getvalue()


class Site:
    """A small web site on a free loopback port, recording the requests it gets."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.image = picture()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append((self.path, dict(self.headers)))
                route = {
                    "/page": lambda: self.answer(200, "text/html; charset=utf-8", PAGE.encode(), cookie=True),
                    "/picture.png": lambda: self.answer(200, "image/png", site.image),
                    "/moved": lambda: self.redirect("/page"),
                    "/loop": lambda: self.redirect("/loop"),
                    "/text": lambda: self.answer(200, "text/plain", b"just text"),
                    "/untitled": lambda: self.answer(200, "text/html", b"<html><head></head><body>x</body></html>"),
                    "/windows-1256": lambda: self.answer(
                        200, "text/html; charset=windows-1256", "<title>سلام</title>".encode("cp1256")
                    ),
                    "/huge": lambda: self.answer(
                        200, "text/html", b"<html><head><title>big</title></head><body>" + b"x" * 3_000_000
                    ),
                    "/slow": self.slow,
                    "/missing": lambda: self.answer(404, "text/html", b"<title>not found</title>"),
                }.get(self.path)
                if route is None:
                    return self.answer(404, "text/plain", b"")
                route()

            def answer(self, status: int, kind: str, body: bytes, cookie: bool = False) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                if cookie:
                    self.send_header("set-cookie", "tracker=abc123; Path=/")
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def redirect(self, to: str) -> None:
                self.send_response(302)
                self.send_header("location", to)
                self.send_header("set-cookie", "tracker=fromredirect; Path=/")
                self.send_header("content-length", "0")
                self.end_headers()

            def slow(self) -> None:
                time.sleep(12)
                self.answer(200, "text/html", b"<title>late</title>")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
