"""A server started exactly as the Procfile starts it (its uvicorn flags, the proxy settings),
listening on every loopback address so tests can come from 127.0.0.x, many clients at once."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
from conftest import ROOT, Server, make_server


def procfile_command() -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line[len("web:") :].strip()
    raise AssertionError("the Procfile has no web process")


class ProcfileServer(Server):
    def start(self) -> ProcfileServer:
        self.log_path = self.data_dir / "server.log"
        log_file = open(self.log_path, "ab")  # the server process writes to it
        env = {**self.env, "PATH": f"{ROOT / '.venv' / 'bin'}:{self.env.get('PATH', '')}"}
        self.process = subprocess.Popen(
            ["bash", "-c", "exec " + procfile_command()], cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
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


def start_procfile_server(data_dir: Path, **env: str) -> ProcfileServer:
    base = make_server(data_dir, **env)
    return ProcfileServer(url=base.url, ws_url=base.ws_url, data_dir=base.data_dir, env=base.env).start()


def client_from(server: Server, source: str, **kwargs) -> httpx.AsyncClient:
    """An HTTP client whose connections come from this loopback address."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=server.url, transport=transport, timeout=30, **kwargs)
