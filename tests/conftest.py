"""Fixtures that start real things: a uvicorn server on a free port with its own SQLite file."""

from __future__ import annotations

import itertools
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def procfile_command() -> list[str]:
    """The Procfile's web: line as a platform runs it (a shell expands ${…}), on loopback: tests
    start the server with the one set of uvicorn flags the project has."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            command = re.sub(r"--host \S+", "--host 127.0.0.1", line[len("web:") :].strip())
            return ["/bin/sh", "-c", f"exec {command}"]
    raise AssertionError("the Procfile has no web: line")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    ws_url: str
    data_dir: Path
    env: dict
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    extra: dict = field(default_factory=dict)
    command: list[str] | str | None = None  # how to start it; the Procfile's line when None

    @property
    def database_file(self) -> Path:
        return self.data_dir / "payambar.db"

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def start(self) -> Server:
        self.env["PORT"] = self.url.rsplit(":", 1)[1]
        self.log_path = self.data_dir / "server.log"
        log_file = open(self.log_path, "ab")  # the server process writes to it
        self.process = subprocess.Popen(
            self.command or procfile_command(),
            cwd=ROOT,
            env=self.env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60  # a loaded 2-core box can take 20 s and more
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# Set to a PostgreSQL server URL (no database name) to run every server test on PostgreSQL,
# each server with a fresh database of its own: postgresql://postgres@127.0.0.1:5432
POSTGRES_SERVER = os.environ.get("TEST_POSTGRES_SERVER", "")


def fresh_postgres_database(server_url: str) -> str:
    name = f"payambar_test_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(server_url)
    subprocess.run(
        ["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U", parts.username or "postgres",
         "-d", "postgres", "-q", "-c", f"CREATE DATABASE {name}"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return f"{server_url.rstrip('/')}/{name}"


def make_server(data_dir: Path, **env_overrides: str) -> Server:
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    database_url = f"sqlite:///{data_dir}/payambar.db"
    if POSTGRES_SERVER and "DATABASE_URL" not in env_overrides:
        database_url = fresh_postgres_database(POSTGRES_SERVER)
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "warning",
        "PORT": str(port),
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",  # the Procfile's uvicorn
        # Every test client shares 127.0.0.1; tests of these limits start servers that set them low.
        "REGISTRATIONS_PER_HOUR": "1000000",
        "LOGIN_FAILURES_PER_ADDRESS": "1000000",
        "SENDS_PER_MINUTE": "10000000",
        # bcrypt at its lowest cost: hundreds of accounts are made per run (tests of the cost
        # itself, and of logins queueing behind it, set 12 again).
        "BCRYPT_ROUNDS": "4",
    }
    env.pop("SECRET_KEY", None)
    env.update(env_overrides)
    return Server(url=f"http://127.0.0.1:{port}", ws_url=f"ws://127.0.0.1:{port}/ws", data_dir=data_dir, env=env)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One real server for the whole run; tests keep apart by using fresh usernames."""
    server = make_server(tmp_path_factory.mktemp("server")).start()
    yield server
    server.stop()


@pytest.fixture
def server_factory(tmp_path):
    """Starts servers of a test's own (fresh data folder unless given); stops them after."""
    started: list[Server] = []

    def start(data_dir: Path | None = None, **env: str) -> Server:
        server = make_server(data_dir or tmp_path / f"server{len(started)}", **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
async def pool(live_server):
    """Users registered once per module (bcrypt is slow on purpose): a supply of pairs that never
    talked to each other."""
    from tests.checks import close_all, register_many

    users = await register_many(live_server, 8)
    yield itertools.combinations(users, 2)
    await close_all(*users)


@pytest.fixture
def pair(pool):
    """Two users who have not talked to each other yet (each may have other chats)."""
    return next(pool)


@pytest.fixture(scope="module")
async def stranger(live_server):
    """A user nobody in the module writes to."""
    from tests.helpers import register

    api = await register(live_server)
    yield api
    await api.close()


# ---- a Web Push service of the tests' own (tests/push_service.py), and a server that may use it ----


@pytest.fixture(scope="module")
def push_service(tmp_path_factory):
    from push_service import start_push_service

    service, server = start_push_service(tmp_path_factory.mktemp("push-service"))
    yield service
    server.shutdown()


@pytest.fixture(scope="module")
def push_server(tmp_path_factory, push_service):
    """A server allowed to push to 127.0.0.1, trusting the push service's certificate."""
    server = make_server(
        tmp_path_factory.mktemp("push-server"), PUSH_ALLOW_PRIVATE="1", PUSH_CA_FILE=str(push_service.cert_file)
    ).start()
    yield server
    server.stop()
