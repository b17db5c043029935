"""The bare relay baseline: the same frames as /ws, no database, no checks.

Speaks just enough of Payambar's protocol for the bench's generator to drive it with
the very same pattern as the real server: auth -> ready, send -> ack + message to the
recipient, delivered -> status to the sender, read -> read to both. Run it exactly as
the Procfile runs the app, with `bench.relay:app` in place of `app:app`.
"""

import itertools

import orjson
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

peers: dict[str, WebSocket] = {}
senders: dict[int, dict] = {}  # message id -> message, until delivered
ids = itertools.count(1)


async def send(user: str, frame: dict) -> None:
    if (ws := peers.get(user)) is not None:
        await ws.send_text(orjson.dumps(frame).decode())


async def relay(ws: WebSocket) -> None:
    await ws.accept()
    me = orjson.loads(await ws.receive_text())["token"]  # the token is the username here
    peers[me] = ws
    await ws.send_text(orjson.dumps({"type": "ready", "user": {"username": me}, "cursor": 0}).decode())
    try:
        while True:
            f = orjson.loads(await ws.receive_text())
            if f["type"] == "send":
                m = {
                    "id": next(ids),
                    "client_id": f["client_id"],
                    "sender": me,
                    "recipient": f["to"],
                    "text": f["text"],
                    "status": "sent",
                }
                senders[m["id"]] = m
                await ws.send_text(orjson.dumps({"type": "ack", "ref": f["ref"], "seq": 0, "message": m}).decode())
                await send(f["to"], {"type": "message", "seq": 0, "message": m})
            elif f["type"] == "delivered":
                for i in f["ids"]:
                    if (m := senders.pop(i, None)) is not None:
                        await send(m["sender"], {"type": "status", "seq": 0, "message": {**m, "status": "delivered"}})
            elif f["type"] == "read":
                r = {"type": "read", "seq": 0, "peer": f["peer"], "reader": me, "up_to": f["up_to"]}
                await ws.send_text(orjson.dumps(r).decode())
                await send(f["peer"], {**r, "peer": me})
    except WebSocketDisconnect:
        if peers.get(me) is ws:  # a later connection of the same name stays
            del peers[me]


async def health(request) -> JSONResponse:
    return JSONResponse({"status": "ok", "connections": len(peers)})


app = Starlette(routes=[Route("/health", health), WebSocketRoute("/ws", relay)])
