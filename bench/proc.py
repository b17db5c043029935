"""Start the server exactly as the Procfile does, watch its CPU and memory, stop it."""

from __future__ import annotations

import os
import re
import resource
import shlex
import shutil
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


def expand(cmd: str, env: dict) -> str:
    """`$NAME`, `${NAME}` and `${NAME:-default}` as a shell expands them, from `env`."""

    def one(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        value = env.get(name, "")
        if m.group(2) is not None and not value:
            return m.group(2)
        return value

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", one, cmd)


def server_argv(
    port: int,
    app: str | None = None,
    ws: str | None = None,
    extra: list[str] | None = None,
    env: dict | None = None,
) -> list[str]:
    """The Procfile's command with its variables expanded from the server's environment, bound to
    loopback, optionally another app or --ws."""
    argv = shlex.split(expand(procfile_command(), {**(env or os.environ), "PORT": str(port)}))
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
        self.argv = server_argv(self.port, app=app, ws=ws, env=self.env)
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


# --------------------------------------------------------------------------- PostgreSQL

PG_SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")


def postgres_ready() -> bool:
    """Whether the local PostgreSQL answers (trust auth, user postgres)."""
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], capture_output=True).returncode == 0


def psql(sql: str, db: str = "postgres") -> str:
    """Run SQL through `psql` on the local server; its unaligned, tuples-only output."""
    r = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qtA", "-c", sql],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        raise RuntimeError(f"psql: {r.stderr.strip()}")
    return r.stdout


class PostgresDB:
    """A fresh database on the local server for one scenario, dropped on exit."""

    def __init__(self, tag: str):
        self.name = f"payambar_bench_{tag}_{os.getpid()}"
        self.url = f"{PG_SERVER}/{self.name}"

    def sql(self, statement: str) -> str:
        return psql(statement, self.name)

    def __enter__(self) -> PostgresDB:
        psql(f"DROP DATABASE IF EXISTS {self.name}")
        psql(f"CREATE DATABASE {self.name}")
        return self

    def __exit__(self, *exc) -> None:
        try:
            psql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except RuntimeError as e:
            print(f"  could not drop {self.name}: {e}", flush=True)


# --------------------------------------------------------------------------- services beside the server


class ProcessCPU:
    """CPU of a changing set of processes (e.g. one database's PostgreSQL backends), sampled.

    `find` returns the processes to watch now; the CPU of one that has exited stays counted
    at its last sample.
    """

    def __init__(self, find):
        self.find = find
        self._last: dict[int, float] = {}
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def total(self) -> float:
        for p in self.find():
            try:
                t = p.cpu_times()
                self._last[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        return sum(self._last.values())

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._samples.append((time.monotonic(), self.total()))

    def start(self) -> ProcessCPU:
        self._samples.append((time.monotonic(), self.total()))
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def cpu_pct(self, t0: float, t1: float) -> float | None:
        """% of one core between two monotonic times."""
        s = [x for x in self._samples if t0 - 0.25 <= x[0] <= t1 + 0.25]
        if len(s) < 2:
            return None
        return 100.0 * (s[-1][1] - s[0][1]) / max(1e-9, s[-1][0] - s[0][0])


def postgres_backends(dbname: str):
    """A `find` for ProcessCPU: the PostgreSQL backends serving one database (their title names it)."""

    def find() -> list[psutil.Process]:
        out = []
        for p in psutil.process_iter(["name", "cmdline"]):
            cmd = " ".join(p.info["cmdline"] or ())
            if cmd.startswith("postgres: ") and f" {dbname} " in f"{cmd} ":
                out.append(p)
        return out

    return find


class RedisServer:
    """A Redis of the scenario's own on a free port (no persistence), so its CPU is measurable
    and nothing else on the machine shares it."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.cpu: ProcessCPU | None = None

    def __enter__(self) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if r.stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        else:
            self.__exit__()
            raise RuntimeError(f"redis-server did not answer on port {self.port}")
        proc = psutil.Process(self.proc.pid)
        self.cpu = ProcessCPU(lambda: [proc]).start()
        return self

    def __exit__(self, *exc) -> None:
        if self.cpu:
            self.cpu.stop()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None and shutil.which("redis-cli") is not None


class Cluster:
    """Several server instances seen as one by the chat pattern: CPU and RSS summed."""

    def __init__(self, servers: list[Server], processes_each: int = 1):
        self.servers = servers
        self.processes = len(servers) * processes_each

    @property
    def base(self) -> str:
        return self.servers[0].base

    @property
    def ws_url(self) -> str:
        return self.servers[0].ws_url

    def window(self, t0: float, t1: float) -> dict:
        each = [s.window(t0, t1) for s in self.servers]
        cpu = [w["cpu_pct"] for w in each]
        return {
            "cpu_pct": None if None in cpu else sum(cpu),
            "rss_peak_mb": sum(w["rss_peak_mb"] for w in each),
            "machine_busy_pct": each[0].get("machine_busy_pct"),
            "workers": self.processes,
            "per_instance_cpu_pct": cpu,
        }
