"""A lean WebSocket client: the `websockets` 17 Sans-I/O protocol on a plain asyncio Protocol.

The library's asyncio client spends a coroutine, a future and a lock on every frame; at
tens of thousands of frames a second that alone fills the generator's core, so the bench
would measure its own client. Here frames are handed to a callback as they are parsed and
sends are written at once; the framing, masking, handshake, ping answers and the
permessage-deflate extension are the library's own (`websockets.client.ClientProtocol`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urlsplit

import orjson
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

OnFrame = Callable[[dict], None]


class LeanWS(asyncio.Protocol):
    """One client connection; `on_frame` gets each JSON text frame, decoded, as it arrives."""

    def __init__(self, url: str, deflate: bool):
        ext = [ClientPerMessageDeflateFactory(client_max_window_bits=True)] if deflate else None
        self.proto = ClientProtocol(parse_uri(url), extensions=ext, max_size=2**22)
        loop = asyncio.get_running_loop()
        self.handshake: asyncio.Future = loop.create_future()
        self.closed: asyncio.Future = loop.create_future()
        self.on_frame: OnFrame = lambda f: None
        self.transport: asyncio.Transport | None = None
        self.extensions: str | None = None
        self._parts: list[bytes] = []
        self.frames_in = 0
        self.batches_in = 0  # {"type":"updates"} frames among frames_in

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request = self.proto.connect()
        request.headers["User-Agent"] = "payambar-bench"
        self.proto.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Frame):
                op = event.opcode
                if op is Opcode.TEXT or op is Opcode.CONT:
                    if not event.fin:
                        self._parts.append(event.data)
                        continue
                    data_ = event.data
                    if self._parts:
                        data_ = b"".join(self._parts) + data_
                        self._parts = []
                    self.frames_in += 1
                    frame = orjson.loads(data_)
                    if frame.get("type") == "updates":  # several updates in one frame, each with its seq
                        self.batches_in += 1
                        for update in frame["updates"]:
                            self.on_frame(update)
                    else:
                        self.on_frame(frame)
            elif isinstance(event, Response):
                if self.proto.handshake_exc is not None:
                    self.handshake.set_exception(self.proto.handshake_exc)
                else:
                    self.extensions = event.headers.get("Sec-WebSocket-Extensions")
                    self.handshake.set_result(event)
        self._flush()

    def eof_received(self) -> bool | None:
        self.proto.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(self.proto.close_code)

    # sending

    def _flush(self) -> None:
        t = self.transport
        if t is None or t.is_closing():
            self.proto.data_to_send()
            return
        for chunk in self.proto.data_to_send():
            if chunk:
                t.write(chunk)
            else:
                t.write_eof() if t.can_write_eof() else None

    def send(self, frame: dict) -> None:
        self.send_raw(orjson.dumps(frame))

    def send_raw(self, data: bytes) -> None:
        if self.closed.done():
            raise ConnectionError("closed")
        self.proto.send_text(data)
        self._flush()

    @property
    def is_open(self) -> bool:
        return not self.closed.done()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def close(self, timeout: float = 2.0) -> None:
        if self.closed.done():
            return
        try:
            self.proto.send_close(1000)
            self._flush()
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except Exception:
            self.abort()


async def connect_ws(
    url: str,
    token: str,
    *,
    after: int | None = None,
    deflate: bool = True,
    on_frame: OnFrame | None = None,
    timeout: float = 30.0,
    batch: bool = False,
    source: str | None = None,
) -> tuple[LeanWS, dict]:
    """Connect, authenticate with the first frame, wait for `ready`; it and later frames go to on_frame.

    A batched frame `{"type":"updates","updates":[…]}` reaches on_frame as its updates, one by one.
    """
    u = urlsplit(url)
    loop = asyncio.get_running_loop()
    local = (source, 0) if source else None  # several loopback sources: ~28 000 ports each
    _, ws = await asyncio.wait_for(
        loop.create_connection(lambda: LeanWS(url, deflate), u.hostname, u.port, local_addr=local), timeout
    )
    try:
        await asyncio.wait_for(ws.handshake, timeout)
        ready: asyncio.Future = loop.create_future()

        def before_ready(f: dict) -> None:
            t = f.get("type")
            if t == "ready":
                ws.on_frame = on_frame or (lambda f: None)
                ready.set_result(f)
                ws.on_frame(f)  # the handler sees `ready` too: its cursor starts the seq check
            elif t == "error" and not ready.done():
                ready.set_exception(RuntimeError(f"auth refused: {f}"))

        ws.on_frame = before_ready
        auth: dict = {"type": "auth", "token": token}
        if after is not None:
            auth["after"] = after
        if batch:  # frames that waited together arrive as one {"type":"updates"} frame
            auth["batch"] = True
        ws.send(auth)
        done, _ = await asyncio.wait({ready, ws.closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            raise ConnectionError(f"no ready frame (closed: {ws.proto.close_code} {ws.proto.close_reason!r})")
        return ws, ready.result()
    except BaseException:
        ws.abort()
        raise
