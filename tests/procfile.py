"""A server started exactly as the Procfile starts it (its uvicorn flags, the proxy settings),
on loopback; clients may come from any 127.0.0.x source address, many at once."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from conftest import Server, make_server, procfile_command


def start_procfile_server(data_dir: Path, **env: str) -> Server:
    """A server started by the Procfile's own web: line (the runner every Procfile test shares)."""
    server = make_server(data_dir, **env)
    server.env["PATH"] = f"{Path(sys.executable).parent}:{server.env.get('PATH', '')}"
    server.command = procfile_command()
    return server.start()


def client_from(server: Server, source: str, **kwargs) -> httpx.AsyncClient:
    """An HTTP client whose connections come from this loopback address."""
    transport = httpx.AsyncHTTPTransport(local_address=source)
    return httpx.AsyncClient(base_url=server.url, transport=transport, timeout=30, **kwargs)
