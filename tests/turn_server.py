"""A real coturn for the tests: its own process on free loopback ports, in a temp folder, with a
shared secret (TURN REST API), allowed to relay to loopback peers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

TURNSERVER = shutil.which("turnserver") or "/usr/sbin/turnserver"
SECRET = "a-turn-secret-for-the-tests"
RELAY_PORTS = 200


def _free_udp_and_tcp_port() -> int:
    while True:
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port


def _free_port_range(size: int) -> int:
    """The first port of `size` consecutive UDP ports free now (relay allocations use them)."""
    for _ in range(200):
        start = _free_udp_and_tcp_port()
        if start + size > 65000:
            continue
        taken = False
        for port in range(start, start + size, 17):  # a sample: other tests may take some meanwhile
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return start
    raise RuntimeError("no free UDP port range for coturn's relays")


class TurnServer:
    def __init__(self, folder: Path, secret: str = SECRET) -> None:
        self.folder = folder
        self.secret = secret
        self.port = _free_udp_and_tcp_port()
        self.process: subprocess.Popen | None = None

    @property
    def urls(self) -> str:
        """TURN_URLS for the app: TURN over UDP and TCP on loopback."""
        return f"turn:127.0.0.1:{self.port}?transport=udp,turn:127.0.0.1:{self.port}?transport=tcp"

    @property
    def log_path(self) -> Path:
        return self.folder / "turnserver.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> TurnServer:
        if not Path(TURNSERVER).exists():
            if os.environ.get("CI"):
                pytest.fail("coturn's turnserver is missing")
            pytest.skip("coturn's turnserver is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        relay_start = _free_port_range(RELAY_PORTS)
        command = [
            TURNSERVER, "-n",  # options from this command line only, no /etc/turnserver.conf
            f"--listening-port={self.port}", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
            f"--min-port={relay_start}", f"--max-port={relay_start + RELAY_PORTS - 1}",
            "--use-auth-secret", f"--static-auth-secret={self.secret}", "--realm=payambar.test",
            "--fingerprint", "--allow-loopback-peers", "--no-multicast-peers",
            "--no-tls", "--no-dtls", "--no-cli", "--no-software-attribute",
            f"--pidfile={self.folder / 'turnserver.pid'}", f"--userdb={self.folder / 'turndb'}",
            "--log-file=stdout", "--simple-log",
        ]  # fmt: skip
        log_file = open(self.log_path, "ab")  # the server process writes to it
        self.process = subprocess.Popen(command, cwd=self.folder, stdout=log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.process.returncode}:\n{self.log()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"turnserver did not start:\n{self.log()[-2000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
