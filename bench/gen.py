"""Load generator workers: separate processes with real WebSocket and HTTP clients.

Each worker runs one role in its own process (uvloop, `websockets` 17 asyncio client,
`httpx`), talks to the parent over a Pipe, and goes through the same steps:

    setup (connect, authenticate) -> ("ready", info) -> waits for "go"
    -> runs for a bounded time and count -> ("done", result)

Times are CLOCK_MONOTONIC microseconds (`time.monotonic_ns`), which every process on
the machine shares, so a timestamp written into a message's text by the sender's
process can be read by the recipient's process.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import time
from array import array
from multiprocessing.connection import Connection

import httpx
import psutil
import uvloop

from bench.httpclient import LeanHTTP
from bench.proc import raise_nofile
from bench.wsclient import LeanWS, connect_ws

FILLER = "سلام! this is a bench message, about as long as a short chat line."


def stamp(m: dict) -> int:
    """The send time a message carries: at the start of its text, or (an envelope, which the
    server cannot read and the bench does not open) in its client id, before the ref."""
    text = m["text"]
    return int(text.split(" ", 1)[0]) if text else int(m["client_id"].rsplit("-", 2)[1])


def now_us() -> int:
    return time.monotonic_ns() // 1000


def cpu_seconds() -> float:
    t = psutil.Process().cpu_times()
    return t.user + t.system


async def _wait_parent(conn: Connection) -> tuple:
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


class Errors:
    def __init__(self) -> None:
        self.count = 0
        self.samples: list[str] = []

    def add(self, what: object) -> None:
        self.count += 1
        if len(self.samples) < 5:
            self.samples.append(str(what)[:300])

    def result(self) -> dict:
        return {"count": self.count, "samples": self.samples}


# --------------------------------------------------------------------------- chat


class Group:
    """One sender and its recipients (one for a pair, several for a fan-out sender)."""

    def __init__(self, gid: str, sender: dict, recipients: list[dict], window: int):
        self.gid = gid
        self.sender = sender
        self.recipients = recipients
        self.sem = asyncio.Semaphore(window)
        self.pending: dict[int, list[int]] = {}  # ref -> [sent_us, waiting bits: 1 ack, 2 arrival]
        self.sent = 0
        self.texts: list[str] = []  # texts to send in turn (else FILLER)
        self.envelopes: dict[str, list[str]] = {}  # recipient -> envelopes to send in turn (else text)

    def settle(self, ref: int, bit: int) -> None:
        p = self.pending.get(ref)
        if p is None or not p[1] & bit:
            return
        p[1] &= ~bit
        if not p[1]:
            del self.pending[ref]
            self.sem.release()


class ChatWorker:
    """Senders send continuously over /ws; recipients acknowledge delivery and mark read.

    Closed loop (`window` messages in flight per sender: a message leaves the window when it
    is both acknowledged and arrived) or open loop (`rate` messages/s per sender).
    """

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.url = cfg["url"]
        self.deflate = cfg.get("deflate", True)
        self.read_every = cfg.get("read_every", 10)
        self.lat_deliver = array("q")  # send -> recipient has it
        self.lat_ack = array("q")  # send -> ack at the sender
        self.lat_receipt = array("q")  # send -> delivered status back at the sender
        self.acked: list[tuple[str, str, int]] = []  # (sender, client_id, message id)
        self.arrived = 0
        self.dup_arrivals = 0
        self.receipts = 0
        self.check_seq = cfg.get("check_seq", True)  # the bare relay has no update stream
        self.seq_gaps = 0  # an update whose seq skips past last + 1 on its connection
        self.seq_repeats = 0  # an update whose seq is at or below the last one on its connection
        self.errors = Errors()
        self.closed_unexpectedly = 0
        self.groups: list[Group] = []
        self.sockets: list[LeanWS] = []
        self.stopping = False
        self.measure_from = 0  # only record latencies of messages sent after this (after warm-up)

    async def setup(self) -> dict:
        conns = []
        for gi, g in enumerate(self.cfg["groups"]):
            group = Group(f"{self.cfg['prefix']}g{gi}", g["sender"], g["recipients"], self.cfg.get("window", 4))
            group.texts, group.envelopes = g.get("texts") or [], g.get("envelopes") or {}
            self.groups.append(group)
            conns.append((group, g["sender"]))
            conns += [(group, r) for r in g["recipients"]]
        sem = asyncio.Semaphore(50)

        async def one(group: Group, user: dict) -> LeanWS:
            async with sem:
                ws, _ = await connect_ws(  # a user may name its own instance (scale-out scenarios)
                    user.get("url") or self.url,
                    user["token"],
                    deflate=self.deflate,
                    on_frame=self.handler(group, user),
                    batch=self.cfg.get("batch", False),
                )
            user["ws"] = ws
            ws.closed.add_done_callback(self._closed)
            return ws

        self.sockets = list(await asyncio.gather(*(one(*c) for c in conns)))
        return {"connections": len(self.sockets), "extensions": self.sockets[0].extensions if self.sockets else None}

    def _closed(self, fut: asyncio.Future) -> None:
        if not self.stopping:
            self.closed_unexpectedly += 1
            self.errors.add(f"closed by the server: {fut.result()}")

    def handler(self, group: Group, user: dict):
        me = user["username"]
        to_ack: list[int] = []
        seen: set[int] = set()
        last_seq = [0]  # the last seq this connection got: every update of the user, in order, once
        per_peer: dict[str, int] = {}
        loop = asyncio.get_running_loop()
        rec = self

        def flush() -> None:
            if not to_ack:
                return
            ids = to_ack[:]
            to_ack.clear()
            ws = user["ws"]
            if ws.is_open:
                ws.send({"type": "delivered", "ids": ids})

        def on_frame(f: dict) -> None:
            t = f.get("type")
            seq = f.get("seq")
            if seq is not None and rec.check_seq:
                if seq <= last_seq[0]:
                    rec.seq_repeats += 1
                    rec.errors.add(f"{me}: seq {seq} after {last_seq[0]} ({t})")
                elif seq != last_seq[0] + 1:
                    rec.seq_gaps += 1
                    rec.errors.add(f"{me}: seq {seq} after {last_seq[0]}: a gap ({t})")
                last_seq[0] = max(last_seq[0], seq)
            if t == "ready":
                last_seq[0] = f["cursor"]
            elif t == "message":
                m = f["message"]
                if m["recipient"] != me:
                    return
                now = now_us()
                mid = m["id"]
                if mid in seen:
                    rec.dup_arrivals += 1
                    return
                seen.add(mid)
                rec.arrived += 1
                ts = stamp(m)
                if ts >= rec.measure_from:
                    rec.lat_deliver.append(now - ts)
                if not to_ack:
                    loop.call_soon(flush)  # one delivered frame for what arrived together
                to_ack.append(mid)
                n = per_peer.get(m["sender"], 0) + 1
                per_peer[m["sender"]] = n
                if n % rec.read_every == 0:  # what the app does: delivered first, then read
                    flush()
                    user["ws"].send({"type": "read", "peer": m["sender"], "up_to": mid})
                cid = m["client_id"]
                if cid.startswith(group.gid):
                    group.settle(int(cid.rsplit("-", 1)[1]), 2)
            elif t == "ack":
                ref = f["ref"]
                m = f["message"]
                p = group.pending.get(ref)
                if p is not None and p[1] & 1:
                    if p[0] >= rec.measure_from:
                        rec.lat_ack.append(now_us() - p[0])
                    rec.acked.append((me, m["client_id"], m["id"]))
                group.settle(ref, 1)
            elif t == "status":
                m = f["message"]
                if m["sender"] == me and m["status"] in ("delivered", "read"):
                    rec.receipts += 1
                    ts = stamp(m)
                    if ts >= rec.measure_from:
                        rec.lat_receipt.append(now_us() - ts)
            elif t == "error":
                rec.errors.add(f)
                ref = f.get("ref")
                if isinstance(ref, int) and ref in group.pending:
                    group.pending.pop(ref)
                    group.sem.release()

        return on_frame

    async def send_loop(self, group: Group, end: float, max_messages: int, rate: float | None) -> None:
        ws: LeanWS = group.sender["ws"]
        recipients = [r["username"] for r in group.recipients]
        ref = 0
        interval = 1.0 / rate if rate else 0.0
        next_t = time.monotonic() + (random.random() * interval if rate else 0.0)
        pad = max(1, 35 - len(group.gid))  # client ids as long as the app's UUIDs
        texts, envelopes = group.texts, group.envelopes
        try:
            while group.sent < max_messages:
                if rate:
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_t += interval
                    if len(group.pending) > 2000:  # the server stopped answering: do not pile up
                        continue
                else:
                    await group.sem.acquire()
                if time.monotonic() >= end:
                    if not rate:
                        group.sem.release()
                    break
                ref += 1
                ts = now_us()
                group.pending[ref] = [ts, 3]
                group.sent += 1
                to = recipients[ref % len(recipients)]
                if envelopes:  # the timestamp goes in the client id (as long as the app's UUIDs)
                    pool = envelopes[to]
                    stamped = f"{group.gid}-{ts}"
                    frame = {
                        "envelope": pool[ref % len(pool)],
                        "client_id": f"{stamped}-{ref:0{max(1, 35 - len(stamped))}d}",
                    }
                else:
                    text = f"{ts} {texts[ref % len(texts)]}" if texts else f"{ts} {FILLER}"
                    frame = {"text": text, "client_id": f"{group.gid}-{ref:0{pad}d}"}
                ws.send({"type": "send", "ref": ref, "to": to, **frame, "reply_to": None})
        except ConnectionError:
            pass

    async def run(self, duration: float, warmup: float) -> dict:
        cpu0, t0 = cpu_seconds(), time.monotonic()
        self.measure_from = now_us() + int(warmup * 1e6)
        end = t0 + duration
        max_messages = self.cfg.get("max_messages", 10**9)
        rate = self.cfg.get("rate")
        await asyncio.gather(*(self.send_loop(g, end, max_messages, rate) for g in self.groups))
        t_end = time.monotonic()
        cpu1 = cpu_seconds()
        # Grace: let every message in flight be acknowledged, arrive and be receipted.
        sent = sum(g.sent for g in self.groups)
        grace_end = time.monotonic() + self.cfg.get("grace", 5.0)
        last, quiet_since = -1, time.monotonic()
        while time.monotonic() < grace_end:
            if self.receipts != last:
                last, quiet_since = self.receipts, time.monotonic()
            settled = not any(g.pending for g in self.groups)
            # Receipts: all in, or none for 0.3 s (a message read before its delivered ack has none).
            if settled and (self.receipts >= self.arrived or time.monotonic() - quiet_since > 0.3):
                break
            await asyncio.sleep(0.02)
        self.stopping = True
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        return {
            "t_start": t0,
            "t_end": t_end,
            "warmup": warmup,
            "cpu_s": cpu1 - cpu0,
            "sent": sent,
            "acked": self.acked,
            "arrived": self.arrived,
            "dup_arrivals": self.dup_arrivals,
            "receipts": self.receipts,
            "unsettled": sum(len(g.pending) for g in self.groups),
            "lat_deliver": self.lat_deliver.tobytes(),
            "lat_ack": self.lat_ack.tobytes(),
            "lat_receipt": self.lat_receipt.tobytes(),
            "errors": self.errors.result(),
            "closed_unexpectedly": self.closed_unexpectedly,
            "seq_gaps": self.seq_gaps,
            "seq_repeats": self.seq_repeats,
            "frames_in": sum(ws.frames_in for ws in self.sockets),
            "batches_in": sum(ws.batches_in for ws in self.sockets),
        }


async def chat_main(cfg: dict, conn: Connection) -> None:
    w = ChatWorker(cfg)
    conn.send(("ready", await w.setup()))
    msg = await _wait_parent(conn)
    conn.send(("done", await w.run(msg[1]["duration"], msg[1].get("warmup", 0.0))))


# --------------------------------------------------------------------------- idle connections


async def idle_main(cfg: dict, conn: Connection) -> None:
    """Hold many authenticated, idle connections; count what the server pushes to them."""
    conn.send(("ready", {}))
    await _wait_parent(conn)
    sem = asyncio.Semaphore(cfg.get("concurrency", 64))
    sockets: list[LeanWS] = []
    errors = Errors()
    connect_lat = array("q")
    stopping = False

    def lost(fut: asyncio.Future) -> None:
        if not stopping:
            errors.add(f"closed while idle: {fut.result()}")

    sources = cfg.get("sources") or [None]
    count = itertools.count()

    async def one(token: str) -> None:
        source = sources[next(count) % len(sources)]
        async with sem:
            t = now_us()
            for attempt in range(3):
                try:
                    ws, _ = await connect_ws(
                        cfg["url"], token, deflate=cfg.get("deflate", True), timeout=60, source=source
                    )
                    break
                except Exception as e:  # retried: a refused connect under a ramp is the thing measured
                    if attempt == 2:
                        errors.add(repr(e))
                        return
                    await asyncio.sleep(0.5)
            connect_lat.append(now_us() - t)
            sockets.append(ws)
            ws.closed.add_done_callback(lost)

    cpu0, t0 = cpu_seconds(), time.monotonic()
    await asyncio.gather(*(one(tok) for tok in cfg["tokens"]))
    t1 = time.monotonic()
    conn.send(
        (
            "ramped",
            {
                "t_start": t0,
                "t_end": t1,
                "ok": len(sockets),
                "errors": errors.result(),
                "cpu_s": cpu_seconds() - cpu0,
                "connect_lat": connect_lat.tobytes(),
            },
        )
    )
    await _wait_parent(conn)  # hold until told to close
    stopping = True
    frames = sum(ws.frames_in for ws in sockets)
    for ws in sockets:  # an abrupt end, as a phone losing its network: the server must cope
        ws.abort()
    await asyncio.sleep(0.2)
    conn.send(("done", {"frames": frames, "errors": errors.result()}))


# --------------------------------------------------------------------------- HTTP


async def http_main(cfg: dict, conn: Connection) -> None:
    """K keep-alive connections repeat GET requests (path, token) picked at random, for a time."""
    reqs = cfg["requests"]
    conc = cfg.get("concurrency", 16)
    clients = [LeanHTTP(cfg["base"]) for _ in range(conc)]
    # One request per connection first, so every keep-alive connection is open.
    await asyncio.gather(*(c.get(reqs[i % len(reqs)][0], reqs[i % len(reqs)][1]) for i, c in enumerate(clients)))
    conn.send(("ready", {}))
    msg = await _wait_parent(conn)
    duration, max_requests = msg[1]["duration"], msg[1].get("max_requests", 10**9)
    lats: dict[str, array] = {}
    status: dict[int, int] = {}
    count = 0
    body_bytes = 0
    errors = Errors()
    end = time.monotonic() + duration

    async def loop(client: LeanHTTP) -> None:
        nonlocal count, body_bytes
        rnd = random.Random(os.getpid() ^ id(client))
        while time.monotonic() < end and count < max_requests:
            count += 1
            path, token, kind = reqs[rnd.randrange(len(reqs))]
            t = now_us()
            try:
                code, size = await asyncio.wait_for(client.get(path, token), 30)
            except (OSError, TimeoutError, ConnectionError) as e:
                errors.add(repr(e))
                client.close()
                continue
            lats.setdefault(kind, array("q")).append(now_us() - t)
            status[code] = status.get(code, 0) + 1
            body_bytes += size
            if code != 200:
                errors.add(f"{code} {path}")

    cpu0, t0 = cpu_seconds(), time.monotonic()
    await asyncio.gather(*(loop(c) for c in clients))
    t1 = time.monotonic()
    for c in clients:
        c.close()
    conn.send(
        (
            "done",
            {
                "t_start": t0,
                "t_end": t1,
                "cpu_s": cpu_seconds() - cpu0,
                "count": count,
                "status": status,
                "body_bytes": body_bytes,
                "lat": {k: v.tobytes() for k, v in lats.items()},
                "errors": errors.result(),
            },
        )
    )


# --------------------------------------------------------------------------- login storm


async def login_main(cfg: dict, conn: Connection) -> None:
    """Log in at a fixed rate (open loop: a slow answer does not slow the next try)."""
    users = cfg["users"]
    async with httpx.AsyncClient(
        base_url=cfg["base"], timeout=30, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
    ) as client:
        conn.send(("ready", {}))
        msg = await _wait_parent(conn)
        duration, rate = msg[1]["duration"], cfg["rate"]
        lat = array("q")
        status: dict[int, int] = {}
        errors = Errors()
        tasks = []

        async def one(u: dict) -> None:
            t = now_us()
            try:
                r = await client.post("/api/auth/login", json={"username": u["username"], "password": u["password"]})
            except httpx.HTTPError as e:
                errors.add(repr(e))
                return
            lat.append(now_us() - t)
            status[r.status_code] = status.get(r.status_code, 0) + 1
            if r.status_code != 200:
                errors.add(f"{r.status_code}: {r.text[:200]}")

        cpu0, t0 = cpu_seconds(), time.monotonic()
        n = int(duration * rate)
        for i in range(n):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(users[i % len(users)])))
        await asyncio.wait(tasks, timeout=30)
        t1 = time.monotonic()
        conn.send(
            (
                "done",
                {
                    "t_start": t0,
                    "t_end": t1,
                    "cpu_s": cpu_seconds() - cpu0,
                    "attempts": n,
                    "status": status,
                    "lat": lat.tobytes(),
                    "errors": errors.result(),
                },
            )
        )


# --------------------------------------------------------------------------- catch-up


async def catchup_main(cfg: dict, conn: Connection) -> None:
    """B misses N updates while A sends; then B reconnects with its cursor: time until current."""
    url, a, b, n = cfg["url"], cfg["a"], cfg["b"], cfg["n"]
    loop = asyncio.get_running_loop()
    ws_b, ready = await connect_ws(url, b["token"])
    cursor = ready["cursor"]
    await ws_b.close()
    window = asyncio.Semaphore(256)
    done = loop.create_future()
    acked_rows: list[tuple[str, str, int]] = []

    def on_a(f: dict) -> None:
        if f.get("type") == "ack":
            acked_rows.append((a["username"], f["message"]["client_id"], f["message"]["id"]))
            window.release()
            if len(acked_rows) == n and not done.done():
                done.set_result(None)

    ws_a, _ = await connect_ws(url, a["token"], on_frame=on_a, batch=cfg.get("batch", False))
    t_fill = time.monotonic()
    for i in range(n):
        await window.acquire()
        ws_a.send(
            {
                "type": "send",
                "ref": i,
                "to": b["username"],
                "client_id": f"catchup-{i:026d}",
                "text": f"{now_us()} {FILLER}",
                "reply_to": None,
            }
        )
    await asyncio.wait_for(done, 120)
    fill_s = time.monotonic() - t_fill
    await ws_a.close()
    conn.send(("ready", {"cursor": cursor, "fill_s": fill_s}))
    await _wait_parent(conn)

    state = {"got": 0, "last": cursor, "in_order": True, "dups": 0, "messages": 0, "target": None}
    seen: set[int] = set()
    to_ack: list[int] = []
    current = loop.create_future()
    holder: dict = {}

    def on_b(f: dict) -> None:
        seq = f.get("seq")
        if seq is None:
            return
        state["got"] += 1
        if seq != state["last"] + 1:
            state["in_order"] = False
        state["last"] = seq
        if f.get("type") == "message":
            mid = f["message"]["id"]
            if mid in seen:
                state["dups"] += 1
            seen.add(mid)
            state["messages"] += 1
            to_ack.append(mid)
            if len(to_ack) >= 200:  # a real client acknowledges what it got, in batches
                holder["ws"].send({"type": "delivered", "ids": to_ack[:]})
                to_ack.clear()
        if state["target"] is not None and seq >= state["target"] and not current.done():
            current.set_result(time.monotonic())

    cpu0, t0 = cpu_seconds(), time.monotonic()
    # Frames after `ready` may arrive before connect_ws returns: buffer them until the target is known.
    early: list[dict] = []
    ws_b, ready = await connect_ws(url, b["token"], after=cursor, on_frame=early.append, batch=cfg.get("batch", False))
    holder["ws"] = ws_b
    t_ready = time.monotonic()
    state["target"] = ready["cursor"]
    ws_b.on_frame = on_b
    for f in early:
        on_b(f)
    if state["target"] <= cursor and not current.done():
        current.set_result(time.monotonic())
    try:
        t_current = await asyncio.wait_for(current, 60)
    except TimeoutError:
        conn.send(("done", {"error": "not current within 60 s", **state}))
        return
    if to_ack:
        ws_b.send({"type": "delivered", "ids": to_ack})
    cpu1 = cpu_seconds()
    await asyncio.sleep(0.2)
    await ws_b.close()
    conn.send(
        (
            "done",
            {
                "t_start": t0,
                "t_end": t_current,
                "ready_s": t_ready - t0,
                "current_s": t_current - t0,
                "updates": state["got"],
                "messages": state["messages"],
                "expected": state["target"] - cursor,
                "in_order": state["in_order"],
                "dups": state["dups"],
                "cpu_s": cpu1 - cpu0,
                "acked": acked_rows,
            },
        )
    )


# --------------------------------------------------------------------------- entry


ROLES = {"chat": chat_main, "idle": idle_main, "http": http_main, "login": login_main, "catchup": catchup_main}


def worker(role: str, cfg: dict, conn: Connection) -> None:
    """multiprocessing target: run one role to its end in a fresh event loop."""
    raise_nofile()
    try:
        uvloop.run(ROLES[role](cfg, conn))
    except BaseException as e:
        try:
            conn.send(("failed", repr(e)))
        except Exception:
            pass
        raise
