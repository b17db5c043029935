"""Shared by the operations and fault tests: the command line, steady senders, PostgreSQL at hand."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sqlite3
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, procfile_command
from helpers import Api

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def run_command(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m payambar …` with a server's settings, as an operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "payambar", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def command_env(data_dir: Path, database_url: str | None = None) -> dict:
    env = {**os.environ, "DATA_DIR": str(data_dir), "DATABASE_URL": database_url or f"sqlite:///{data_dir}/payambar.db"}
    env.pop("SECRET_KEY", None)
    return env


def on_sqlite(data_dir: Path) -> dict:
    """Server settings for a SQLite file in data_dir, even when the run is set to PostgreSQL."""
    return {"DATABASE_URL": f"sqlite:///{data_dir}/payambar.db"}


def fields(output: str) -> dict[str, str]:
    """The `name: value` lines of a command's output."""
    return dict(line.split(": ", 1) for line in output.splitlines() if ": " in line)


def postgres_server() -> str:
    """A PostgreSQL server URL to make test databases on: required in CI, else skipped when absent."""
    url = os.environ.get("TEST_POSTGRES_SERVER") or DEFAULT_POSTGRES
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5432), timeout=1).close()
    except OSError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no PostgreSQL server here (CI always has one)")
    return url


def stored_client_ids(database_file: Path) -> list[tuple[int, str]]:
    """Every stored (sender id, client id), duplicates included, read straight from the file."""
    connection = sqlite3.connect(f"file:{database_file}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT sender_id, client_id FROM messages").fetchall()
    finally:
        connection.close()


def integrity(database_file: Path) -> str:
    connection = sqlite3.connect(f"file:{database_file}?mode=ro", uri=True)
    try:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()


@dataclass
class Senders:
    """Clients sending over HTTP, one message at a time each, until stopped; the acknowledged ones kept."""

    pairs: list[tuple[Api, Api]]
    text_size: int = 0  # pad each text to this many characters
    acknowledged: dict[str, dict] = field(default_factory=dict)  # client id -> the stored message
    failures: list[int] = field(default_factory=list)  # statuses of refused sends
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task] = field(default_factory=list)

    def start(self) -> Senders:
        self._tasks = [asyncio.create_task(self._send(sender, recipient)) for sender, recipient in self.pairs]
        return self

    async def _send(self, sender: Api, recipient: Api) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            client_id = uuid.uuid4().hex
            text = f"{sender.username} #{number} ".ljust(self.text_size, ".")
            body = {"to": recipient.username, "text": text, "client_id": client_id}
            try:
                response = await sender.post("/api/messages", json=body)
            except Exception:  # the connection broke: not acknowledged
                await asyncio.sleep(0.05)
                continue
            if response.status_code in (200, 201):
                self.acknowledged[client_id] = response.json()
            else:
                self.failures.append(response.status_code)
                await asyncio.sleep(0.05)

    async def until(self, count: int, timeout: float = 30) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if len(self.acknowledged) >= count:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{len(self.acknowledged)} of {count} sends acknowledged")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)


def graceful_timeout() -> float:
    """The Procfile's --timeout-graceful-shutdown, in seconds."""
    found = re.search(r"--timeout-graceful-shutdown[ =](\d+)", (ROOT / "Procfile").read_text())
    assert found, "the Procfile sets a graceful timeout"
    return float(found.group(1))


def start_as_deployed(server) -> None:
    """Starts a conftest Server with the Procfile's command line, as a platform runs it."""
    server.env["PORT"] = server.url.rsplit(":", 1)[1]
    server.env["PATH"] = f"{Path(sys.executable).parent}:{server.env.get('PATH', '')}"
    server.command = procfile_command()
    server.start()
