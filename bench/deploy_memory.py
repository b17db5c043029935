"""What each piece of a one-box deployment costs in memory: the server (under Litestream, backing
up to a loopback S3 server), Litestream, Caddy (TLS in front, WebSockets through it) and coturn,
each with its deployed configuration, idle and then holding N WebSocket connections through Caddy.

    .venv/bin/python -m bench.deploy_memory [--connections 500]

Prints the resident memory (RSS) of each process, in MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pyrage
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from s3_server import BUCKET, S3Server  # noqa: E402 (the tests' own S3 server)

from tests.conftest import free_port  # noqa: E402


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 1e6


def _wait_http(url: str, timeout: float = 30, **kwargs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1, **kwargs)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered at {url}")


def _start_app(work: Path, s3: S3Server, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        **s3.env(),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATA_DIR": str(work / "data"),
        "DATABASE_URL": f"sqlite:///{work}/data/payambar.db",
        "ENVIRONMENT": "production",
        "SECRET_KEY": "m" * 48,
        "REGISTRATIONS_PER_HOUR": "100000",
        "BACKUP_REPLICA_URL": f"s3://{BUCKET}/memory",
        "BACKUP_AGE_KEY": str(pyrage.x25519.Identity.generate()),
        "BACKUP_MONITOR_PORT": str(free_port()),
    }
    (work / "data").mkdir()
    log = open(work / "app.log", "ab")
    return subprocess.Popen([str(ROOT / "deploy" / "run-web")], cwd=ROOT, env=env, stdout=log, stderr=log)


def _start_caddy(work: Path, app_port: int) -> tuple[subprocess.Popen, int]:
    https_port = free_port()
    caddyfile = work / "Caddyfile"
    caddyfile.write_text(
        f"{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {free_port()}\n\thttps_port {https_port}\n}}\n\n"
        f"localhost:{https_port} {{\n\ttls internal\n\tencode zstd gzip\n"
        f"\treverse_proxy 127.0.0.1:{app_port} {{\n\t\tflush_interval -1\n\t}}\n}}\n"
    )
    env = {**os.environ, "XDG_DATA_HOME": str(work / "caddy-data"), "XDG_CONFIG_HOME": str(work / "caddy-config")}
    log = open(work / "caddy.log", "ab")
    process = subprocess.Popen(["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"], env=env,
                               stdout=log, stderr=log)  # fmt: skip
    return process, https_port


def _start_coturn(work: Path) -> subprocess.Popen:
    conf = work / "turnserver.conf"
    conf.write_text(
        f"listening-ip=127.0.0.1\nlistening-port={free_port()}\nno-tls\nno-dtls\nfingerprint\nuse-auth-secret\n"
        f"static-auth-secret={uuid.uuid4().hex}\nrealm=example.org\nno-cli\nmin-port=49152\nmax-port=65535\n"
        "total-quota=300\nuser-quota=12\nlog-file=stdout\nsimple-log\n"
    )
    return subprocess.Popen(["turnserver", "-c", str(conf), "--pidfile", str(work / "turn.pid")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


async def _connect_many(https_port: int, count: int) -> list:
    """count users, each with one WebSocket through Caddy (TLS), left open."""
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    base = f"https://localhost:{https_port}"
    sockets = []
    async with httpx.AsyncClient(base_url=base, verify=False, timeout=30) as client:
        for number in range(count):
            name = f"m{number}{uuid.uuid4().hex[:6]}"
            body = {"username": name, "password": "memory-bench-password"}
            token = (await client.post("/api/auth/register", json=body)).json()["token"]
            socket = await websockets.connect(f"wss://localhost:{https_port}/ws", ssl=insecure, compression=None)
            await socket.send(f'{{"type": "auth", "token": "{token}"}}')
            await socket.recv()
            sockets.append(socket)
    return sockets


def _table(processes: dict[str, int]) -> dict[str, float]:
    return {name: _rss_mb(pid) for name, pid in processes.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=500)
    args = parser.parse_args()
    for tool in ("caddy", "turnserver"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed (apt-get install caddy coturn)")
    with tempfile.TemporaryDirectory(prefix="payambar-memory-") as folder:
        work = Path(folder)
        s3 = S3Server(work / "s3").start()
        s3.make_bucket()
        app_port = free_port()
        app = _start_app(work, s3, app_port)
        caddy, https_port = _start_caddy(work, app_port)
        coturn = _start_coturn(work)
        try:
            _wait_http(f"http://127.0.0.1:{app_port}/health")
            _wait_http(f"https://localhost:{https_port}/health", verify=False)
            time.sleep(3)  # Litestream's first snapshot, the uploader's first listing
            litestream = psutil.Process(app.pid)
            server = litestream.children()[0]
            processes = {"payambar (uvicorn)": server.pid, "litestream": litestream.pid, "caddy": caddy.pid,
                         "coturn": coturn.pid}  # fmt: skip
            idle = _table(processes)
            sockets = asyncio.run(_connect_many(https_port, args.connections))
            time.sleep(2)
            busy = _table(processes)
            print(f"{'piece':<22}{'idle MB':>10}{f'{args.connections} WebSockets MB':>22}")
            for name in processes:
                print(f"{name:<22}{idle[name]:>10.1f}{busy[name]:>22.1f}")
            print(f"{'all four':<22}{sum(idle.values()):>10.1f}{sum(busy.values()):>22.1f}")
            del sockets
        finally:
            for process in (app, caddy, coturn):
                process.terminate()
            for process in (app, caddy, coturn):
                process.wait(20)
            s3.stop()


if __name__ == "__main__":
    main()
