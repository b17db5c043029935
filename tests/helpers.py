"""Real clients for the tests: an HTTP client holding a token, and a WebSocket client."""

from __future__ import annotations

import asyncio
import itertools
import uuid

import httpx
import orjson
import websockets

PASSWORD = "correct horse battery"
_counter = itertools.count()


def fresh_username(prefix: str = "u") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}{next(_counter)}"[:32]


class Api:
    """An HTTP client for one user (or none, before logging in)."""

    def __init__(self, server, token: str | None = None, user: dict | None = None) -> None:
        self.server = server
        self.token = token
        self.user = user
        self.client = httpx.AsyncClient(base_url=server.url, timeout=30)

    @property
    def username(self) -> str:
        return self.user["username"]

    def _headers(self, headers: dict | None) -> dict:
        merged = dict(headers or {})
        if self.token:
            merged.setdefault("authorization", f"Bearer {self.token}")
        return merged

    async def request(self, method: str, path: str, headers: dict | None = None, **kwargs) -> httpx.Response:
        return await self.client.request(method, path, headers=self._headers(headers), **kwargs)

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs) -> httpx.Response:
        return await self.request("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs) -> httpx.Response:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs) -> httpx.Response:
        return await self.request("DELETE", path, **kwargs)

    async def send(self, to: str, text: str, client_id: str | None = None, **extra) -> dict:
        body = {"to": to, "text": text, "client_id": client_id or uuid.uuid4().hex, **extra}
        response = await self.post("/api/messages", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    async def close(self) -> None:
        await self.client.aclose()


async def register(server, username: str | None = None, password: str = PASSWORD) -> Api:
    api = Api(server)
    response = await api.post(
        "/api/auth/register", json={"username": username or fresh_username(), "password": password}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    api.token, api.user = body["token"], body["user"]
    return api


class Socket:
    """A WebSocket client speaking the /ws protocol; frames it receives queue up for the test."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.ready: dict | None = None
        self._refs = itertools.count(1)

    @classmethod
    async def open(cls, server, token: str, after: int | None = None) -> Socket:
        connection = await websockets.connect(server.ws_url, max_size=2**22)
        socket = cls(connection)
        frame = {"type": "auth", "token": token}
        if after is not None:
            frame["after"] = after
        await socket.send_frame(frame)
        socket.ready = await socket.expect("ready")
        return socket

    async def send_frame(self, frame: dict) -> None:
        await self.connection.send(orjson.dumps(frame).decode())

    async def receive(self, timeout: float = 5.0) -> dict:
        return orjson.loads(await asyncio.wait_for(self.connection.recv(), timeout))

    async def expect(
        self, frame_type: str, timeout: float = 5.0, skip: tuple[str, ...] = ("presence", "typing")
    ) -> dict:
        """The next frame, which must be of this type (presence and typing frames are passed over)."""
        while True:
            frame = await self.receive(timeout)
            if frame["type"] == frame_type:
                return frame
            if frame["type"] not in skip:
                raise AssertionError(f"expected a {frame_type} frame, got {frame}")

    async def collect(
        self, count: int, timeout: float = 5.0, skip: tuple[str, ...] = ("presence", "typing")
    ) -> list[dict]:
        frames = []
        while len(frames) < count:
            frame = await self.receive(timeout)
            if frame["type"] not in skip:
                frames.append(frame)
        return frames

    async def quiet(self, seconds: float = 0.3, skip: tuple[str, ...] = ("presence", "typing")) -> list[dict]:
        """Frames that arrive within a short while (for checking nothing more comes)."""
        frames = []
        try:
            while True:
                frame = await self.receive(seconds)
                if frame["type"] not in skip:
                    frames.append(frame)
        except TimeoutError:
            return frames

    async def send_message(self, to: str, text: str, client_id: str | None = None, **extra) -> str:
        ref = f"r{next(self._refs)}"
        await self.send_frame(
            {"type": "send", "ref": ref, "to": to, "text": text, "client_id": client_id or uuid.uuid4().hex, **extra}
        )
        return ref

    async def close(self) -> None:
        await self.connection.close()
