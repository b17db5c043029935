"""A PostgreSQL server of the test's own, in a temporary folder on a free port, to stop and start
at will (the shared server on 5432 is never touched)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import free_port


def _bindir() -> Path | None:
    try:
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        if (Path(found) / "initdb").exists():
            return Path(found)
    except (OSError, subprocess.CalledProcessError):
        pass
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class OwnPostgres:
    def __init__(self) -> None:
        bindir = _bindir()
        if bindir is None:
            if os.environ.get("CI"):
                raise RuntimeError("initdb not found: CI needs PostgreSQL's server binaries")
            pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed here")
        self.bindir = bindir
        # Its own folder under /tmp: pytest's folders are closed to the postgres user.
        self.base = Path(tempfile.mkdtemp(prefix="payambar-pg-"))
        self.data = self.base / "pgdata"
        self.port = free_port()
        # PostgreSQL refuses to run as root: there it runs as the postgres user.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            [*self._as, str(self.bindir / program), *args], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode:
            raise RuntimeError(f"{program} failed: {result.stdout}{result.stderr}")

    def init(self) -> OwnPostgres:
        if self._as:
            shutil.chown(self.base, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """fast: clean shutdown; immediate: like a crash (recovery from WAL on the next start)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        except RuntimeError:
            pass  # it was not running
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def own_postgres():
    server = OwnPostgres().init()
    server.start()
    yield server
    server.destroy()
