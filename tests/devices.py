"""A device as a real app behaves: keeps its cursor, comes back after any break, resends what was
not acknowledged with the same client id, and checks every update it is given arrives once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import orjson
import websockets


class Device:
    def __init__(self, server, api, name: str = "") -> None:
        self.server = server
        self.api = api
        self.name = name or api.username
        self.username = api.username
        self.cursor = 0  # the last seq handled; every update after it is still owed
        self.updates: list[dict] = []  # every update handled, in order
        self.pending: dict[str, dict] = {}  # client id -> send frame not yet acknowledged
        self.acknowledged: dict[str, dict] = {}  # client id -> the stored message
        self.problems: list[str] = []  # out of order, repeated, errors: must stay empty
        self.connections = 0
        self.received_ids: set[int] = set()  # messages to this user, for receipts
        self.receipts_on_connect = False
        self._connection = None
        self._stopped = False
        self._task: asyncio.Task | None = None
        self.close_codes: list[int | None] = []

    # ---- running --------------------------------------------------------------------------

    def start(self) -> Device:
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        self._stopped = True
        if self._connection is not None:
            await self._connection.close()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def cut(self) -> None:
        """Breaks the connection abruptly: no close frame, the socket just goes."""
        if self._connection is not None:
            self._connection.transport.abort()

    async def _run(self) -> None:
        while not self._stopped:
            try:
                async with websockets.connect(self.server.ws_url, max_size=2**22, open_timeout=3) as connection:
                    self._connection = connection
                    await self._session(connection)
            except (OSError, TimeoutError, websockets.WebSocketException):
                pass
            finally:
                if self._connection is not None:
                    self.close_codes.append(self._connection.close_code)
                self._connection = None
            await asyncio.sleep(0.05)

    async def _session(self, connection) -> None:
        await connection.send(orjson.dumps({"type": "auth", "token": self.api.token, "after": self.cursor}).decode())
        ready = orjson.loads(await asyncio.wait_for(connection.recv(), 5))
        if ready.get("type") != "ready":
            self.problems.append(f"first frame {ready}")
            return
        self.connections += 1
        for frame in list(self.pending.values()):
            await connection.send(orjson.dumps(frame).decode())
        if self.receipts_on_connect:
            await self.send_receipts()
        async for text in connection:
            self._handle(orjson.loads(text))

    def _handle(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "error":
            self.problems.append(f"error frame {frame}")
            return
        if kind == "ack" and frame.get("seq") is None:  # a retry of a stored send: no new update
            self._acknowledge(frame["message"])
            return
        seq = frame.get("seq")
        if seq is None:
            return  # presence, typing
        if seq != self.cursor + 1:
            self.problems.append(f"{self.name}: seq {seq} after {self.cursor}")
            if seq <= self.cursor:
                return
        self.cursor = seq
        self.updates.append(frame)
        message = frame.get("message")
        if message is not None and kind in ("ack", "message"):
            if message["sender"] == self.username:
                self._acknowledge(message)
            if message["recipient"] == self.username and message["sender"] != self.username:
                self.received_ids.add(message["id"])
                if not self.receipts_on_connect:
                    self._send_soon({"type": "delivered", "ids": [message["id"]]})

    def _acknowledge(self, message: dict) -> None:
        client_id = message["client_id"]
        if self.pending.pop(client_id, None) is not None:
            self.acknowledged[client_id] = message

    def _send_soon(self, frame: dict) -> None:
        connection = self._connection
        if connection is not None:
            asyncio.get_running_loop().create_task(_quietly(connection.send(orjson.dumps(frame).decode())))

    # ---- what the test asks of it -----------------------------------------------------------

    async def send(self, to: str, text: str) -> str:
        client_id = uuid.uuid4().hex
        frame = {"type": "send", "ref": client_id, "to": to, "text": text, "client_id": client_id}
        self.pending[client_id] = frame
        connection = self._connection
        if connection is not None:
            await _quietly(connection.send(orjson.dumps(frame).decode()))
        return client_id

    async def send_receipts(self) -> None:
        """Delivered for everything received, and read up to the newest message of each chat."""
        connection = self._connection
        if connection is None:
            return
        ids = sorted(self.received_ids)
        newest: dict[str, int] = {}
        for update in self.updates:
            message = update.get("message")
            if update["type"] == "message" and message["recipient"] == self.username:
                newest[message["sender"]] = max(newest.get(message["sender"], 0), message["id"])
        frames = [{"type": "delivered", "ids": ids[i : i + 1000]} for i in range(0, len(ids), 1000)]
        frames += [{"type": "read", "peer": peer, "up_to": up_to} for peer, up_to in newest.items()]
        for frame in frames:
            await _quietly(connection.send(orjson.dumps(frame).decode()))

    def messages(self) -> dict[int, dict]:
        """Every message this device has been told of, by id (the latest state told)."""
        found: dict[int, dict] = {}
        for update in self.updates:
            if "message" in update:
                found[update["message"]["id"]] = update["message"]
        return found

    def message_updates(self) -> list[int]:
        """Ids of new-message updates, in the order they came (each must come once)."""
        return [u["message"]["id"] for u in self.updates if u["type"] in ("message", "ack")]

    def read_up_to(self, peer: str) -> int:
        """How far the peer has read this user's messages, as told to this device."""
        marks = [u["up_to"] for u in self.updates if u["type"] == "read" and u["reader"] == peer]
        return max(marks, default=0)

    def delivered_ids(self) -> set[int]:
        return {u["message"]["id"] for u in self.updates if u["type"] == "status"}


async def _quietly(coroutine) -> None:
    try:
        await coroutine
    except (OSError, websockets.WebSocketException):
        pass  # the connection is breaking; what was not acknowledged is resent on the next one


async def wait_for(condition, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if condition():
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
