"""Start the server exactly as the Procfile does, watch its CPU and memory, stop it."""

from __future__ import annotations

import os
import re
import resource
import shlex
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
# Where the server's code lives: this checkout, or another one (e.g. an older commit unpacked
# with `git archive`) for a before/after of a server change, driven by this same bench.
SERVER_DIR = Path(os.environ.get("BENCH_SERVER_DIR") or ROOT).resolve()


def raise_nofile() -> int:
    """Raise this process's open-file limit to its hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile_command() -> str:
    """The `web:` line of the Procfile, as production runs it."""
    path = SERVER_DIR / "Procfile"
    if path.exists():
        for line in path.read_text().splitlines():
            if line.startswith("web:"):
                return line[4:].strip()
    # Until the Procfile lands: what the brief says it will be.
    return (
        "uvicorn app:app --host 0.0.0.0 --port ${PORT:-8000} --loop uvloop --http httptools "
        "--ws wsproto --proxy-headers --no-access-log"
    )


def _set_opt(argv: list[str], name: str, value: str | None) -> list[str]:
    """Replace (or add, or with value None remove) `--name value` / `--name=value` in argv."""
    out, i, found = [], 0, False
    while i < len(argv):
        a = argv[i]
        if a == name:
            found = True
            if value is not None:
                out += [name, value]
            i += 2
            continue
        if a.startswith(name + "="):
            found = True
            if value is not None:
                out.append(f"{name}={value}")
            i += 1
            continue
        out.append(a)
        i += 1
    if not found and value is not None:
        out += [name, value]
    return out


def server_argv(port: int, app: str | None = None, ws: str | None = None, extra: list[str] | None = None) -> list[str]:
    """The Procfile's command with $VARS expanded, bound to loopback, optionally another app or --ws."""
    cmd = procfile_command()
    cmd = re.sub(r"\$\{PORT(:-[^}]*)?\}|\$PORT\b", str(port), cmd)
    argv = shlex.split(os.path.expandvars(cmd))
    if argv and argv[0] == "exec":
        argv = argv[1:]
    argv = _set_opt(argv, "--host", "127.0.0.1")  # loopback only on this machine
    argv = _set_opt(argv, "--port", str(port))
    if ws:
        argv = _set_opt(argv, "--ws", ws)
    if app:
        argv = [app if a == "app:app" else a for a in argv]
    return argv + (extra or [])


class Server:
    """One server process: started from the Procfile line, sampled, stopped."""

    def __init__(
        self,
        data_dir: Path,
        *,
        app: str | None = None,
        ws: str | None = None,
        log_path: Path | None = None,
        env: dict | None = None,
        secret: str = "bench-secret-key-" + "x" * 32,
    ):
        self.port = free_port()
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.db_path = self.data_dir / "payambar.db"
        self.app = app
        self.argv = server_argv(self.port, app=app, ws=ws)
        self.env = dict(os.environ)
        self.env["PATH"] = f"{VENV_BIN}:{self.env.get('PATH', '')}"
        self.env.update(
            {
                "ENVIRONMENT": "production",
                "SECRET_KEY": secret,
                "PORT": str(self.port),
                "DATABASE_URL": f"sqlite:///{self.db_path}",
                "LOG_LEVEL": "warning",
                "PYTHONUNBUFFERED": "1",
                # the bench makes thousands of accounts from one address
                "REGISTRATIONS_PER_HOUR": "1000000",
                "SENDS_PER_MINUTE": "10000000",
            }
        )
        self.env.update(env or {})
        self.log_path = log_path or (self.data_dir / "server.log")
        self.proc: subprocess.Popen | None = None
        self.ps: psutil.Process | None = None
        self._samples: list[tuple[float, float, int, float]] = []  # (t, cpu seconds, rss, machine busy seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 30.0) -> Server:
        log = open(self.log_path, "ab")

        def pre() -> None:
            raise_nofile()
            os.setsid()

        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT if self.app and self.app.startswith("bench.") else SERVER_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=pre,
        )
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log_path}:\n"
                    + self.log_path.read_text()[-3000:]
                )
            try:
                if httpx.get(self.base + "/health", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        else:
            self.stop()
            raise RuntimeError(f"server not healthy in {timeout}s; see {self.log_path}")
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _proc_tree(self) -> list[psutil.Process]:
        try:
            return [self.ps] + self.ps.children(recursive=True)
        except psutil.Error:
            return []

    def cpu_rss(self) -> tuple[float, int]:
        cpu, rss = 0.0, 0
        for p in self._proc_tree():
            try:
                t = p.cpu_times()
                cpu += t.user + t.system
                rss += p.memory_info().rss
            except psutil.Error:
                pass
        return cpu, rss

    def rss(self) -> int:
        return self.cpu_rss()[1]

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            cpu, rss = self.cpu_rss()
            m = psutil.cpu_times()
            self._samples.append((time.monotonic(), cpu, rss, m.user + m.nice + m.system + m.irq + m.softirq + m.steal))

    def window(self, t0: float, t1: float) -> dict:
        """Server CPU (% of one core) and peak RSS between two monotonic times."""
        s = [x for x in self._samples if t0 - 0.25 <= x[0] <= t1 + 0.25]
        if len(s) < 2:
            cpu, rss = self.cpu_rss()
            return {"cpu_pct": None, "rss_peak_mb": rss / 2**20}
        dt = max(1e-9, s[-1][0] - s[0][0])
        return {
            "cpu_pct": 100.0 * (s[-1][1] - s[0][1]) / dt,
            "rss_peak_mb": max(x[2] for x in s) / 2**20,
            "machine_busy_pct": 100.0 * (s[-1][3] - s[0][3]) / dt,  # of 200 on two cores
        }

    def stop(self) -> None:
        self._stop.set()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
