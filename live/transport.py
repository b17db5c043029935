"""A WebSocket over the bare ASGI receive and send calls: nothing but the frame on the hot path."""

from __future__ import annotations

from starlette.types import Receive, Send


class Disconnected(Exception):
    """The client went away."""


class Transport:
    __slots__ = ("_receive", "_send", "open")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.open = False

    async def accept(self) -> None:
        message = await self._receive()
        if message["type"] != "websocket.connect":
            raise Disconnected()
        await self._send({"type": "websocket.accept"})
        self.open = True

    async def receive(self) -> str | bytes:
        """The next frame: text as str, binary as bytes."""
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            self.open = False
            raise Disconnected()
        text = message.get("text")
        return text if text is not None else (message.get("bytes") or b"")

    async def send_text(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.open:
            return
        self.open = False
        await self._send({"type": "websocket.close", "code": code, "reason": reason})
