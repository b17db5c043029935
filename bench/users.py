"""Users for a scenario: made by the loader, logged in or registered over HTTP, or given tokens."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from bench import loader
from bench.context import SECRET
from bench.proc import Server


async def _post_patiently(client: httpx.AsyncClient, path: str, body: dict) -> httpx.Response:
    """POST, waiting as told when the server answers 429 (its password checks are queued)."""
    for _ in range(60):
        r = await client.post(path, json=body)
        if r.status_code != 429:
            r.raise_for_status()
            return r
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
    r.raise_for_status()
    return r


async def _login_all(
    base: str, names: list[str], password: str, concurrency: int = 8, ids: dict | None = None
) -> dict[str, str]:
    tokens: dict[str, str] = {}
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one(name: str) -> None:
            async with sem:
                r = await _post_patiently(client, "/api/auth/login", {"username": name, "password": password})
                session = r.json()
                tokens[name] = session["token"]
                if ids is not None:
                    ids[name] = session["user"]["id"]

        await asyncio.gather(*(one(n) for n in names))
    return tokens


def login_all(
    server: Server, names: list[str], password: str = loader.PASSWORD, ids: dict | None = None
) -> dict[str, str]:
    """Tokens by username (and, into `ids`, user ids by username)."""
    return asyncio.run(_login_all(server.base, names, password, ids=ids))


async def register_all(base: str, names: list[str], password: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:

        async def one(name: str) -> tuple[str, str]:
            r = await _post_patiently(client, "/api/auth/register", {"username": name, "password": password})
            return name, r.json()["token"]

        return dict(await asyncio.gather(*(one(n) for n in names)))


def fresh_users(
    data_dir: Path, count: int, *, messages: int = 0, peers: int = 10, sessions_for: list[str] | None = None
) -> dict:
    """A fresh SQLite database with `count` loader-made users (the cheap shared hash) before the
    server starts; with `sessions_for`, tokens for those users (sessions made by the store, tokens
    signed with the server's code: for scenario 4's 10 000 users, whose logins are setup, not
    what is measured, and over HTTP take minutes on a busy machine)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return loader.load(
        data_dir / "payambar.db", count, messages, peers=peers, cost=4, sessions_for=sessions_for, secret=SECRET
    )
