"""Real services for the scale-out tests: a Redis of the test's own (it may be stopped and
started again), a PostgreSQL database, and instances started from the Procfile's `web:` line."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import POSTGRES_SERVER, Server, free_port, fresh_postgres_database, make_server

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432"


def need(condition: bool, what: str) -> None:
    """Skips where a service cannot run here; in CI nothing may be skipped."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is needed in CI")
    pytest.skip(f"{what} is not available here")


def postgres_url() -> str:
    server = POSTGRES_SERVER or DEFAULT_POSTGRES
    probe = subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], capture_output=True)
    need(shutil.which("pg_isready") is not None and probe.returncode == 0, "PostgreSQL on 127.0.0.1:5432")
    return fresh_postgres_database(server)


class RedisServer:
    """redis-server on a free port in a folder of its own, keeping nothing on disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def redis_server(folder: Path) -> RedisServer:
    need(shutil.which("redis-server") is not None, "redis-server")
    return RedisServer(folder).start()


def instance(data_dir: Path, database_url: str, redis_url: str, **env: str) -> Server:
    """One instance as production starts it (not yet started)."""
    server = make_server(data_dir, DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY="s" * 32, **env)
    return server
