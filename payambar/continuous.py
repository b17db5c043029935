"""The continuous backup's commands: run the server under Litestream, restore from the bucket,
show the replica, make a key."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from backup import BackupSettings, RestoreRefused, restore_from_bucket
from backup.bucket import FILES, Bucket
from backup.litestream import read_position, replicate_argv, write_config
from backup.settings import BackupSettingsError, bucket_access, check_age_key, parse_replica_url
from settings import Settings, sqlite_path

LITESTREAM_CONFIG = "litestream.json"


def replicate(settings: Settings, command: list[str]) -> int:
    """Replaces this process with the server, under Litestream when a bucket is set."""
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print("payambar: replicate needs the server's command after --", file=sys.stderr)
        return 1
    if not settings.backup.enabled:
        os.execvp(command[0], command)
    database_file = sqlite_path(settings.database_url)
    if database_file is None:  # the settings refuse a backup of any other database already
        print("payambar: continuous backup needs a SQLite database", file=sys.stderr)
        return 1
    config = write_config(settings.backup, database_file, settings.data_dir / LITESTREAM_CONFIG)
    argv = replicate_argv(config, command)
    os.execv(argv[0], argv)
    return 1  # not reached


def print_new_key() -> int:
    import pyrage

    identity = pyrage.x25519.Identity.generate()
    print(f"# public key: {identity.to_public()}", file=sys.stderr)
    print("# Set BACKUP_AGE_KEY to the line below, and keep a copy OFF this machine: without it", file=sys.stderr)
    print("# the backups cannot be read by anyone, you included.", file=sys.stderr)
    print(str(identity))
    return 0


def _restore_settings(replica_url: str, key_file: Path | None) -> BackupSettings:
    raw_key = key_file.read_text().strip() if key_file else os.environ.get("BACKUP_AGE_KEY", "").strip()
    key = check_age_key(raw_key, "the key") if raw_key else ""
    return BackupSettings(replica_url=parse_replica_url(replica_url), age_key=key, **bucket_access(dict(os.environ)))


def restore(settings: Settings, replica_url: str, key_file: Path | None) -> int:
    database_file = sqlite_path(settings.database_url)
    if database_file is None:  # the settings refuse a backup of any other database already
        print("payambar: continuous backup needs a SQLite database", file=sys.stderr)
        return 1
    if database_file is None:
        print(
            "payambar: a restore from a bucket fills a SQLite data folder (DATABASE_URL=sqlite:///…)", file=sys.stderr
        )
        return 1
    try:
        backup = _restore_settings(replica_url, key_file)
        figures = restore_from_bucket(
            backup, database_file, settings.data_dir, settings.media.files_dir, dict(os.environ)
        )
    except (BackupSettingsError, RestoreRefused, OSError) as refusal:
        print(f"payambar: restore refused: {refusal}", file=sys.stderr)
        return 1
    print(f"restored: {database_file}")
    print(f"from: {backup.replica_url}")
    print(f"files: {figures['files']} ({figures['file_bytes']} bytes)")
    print(f"keys: {', '.join(figures['keys']) or 'none (SECRET_KEY and VAPID_PRIVATE_KEY come from the settings)'}")
    print(f"took: {figures['seconds']:.2f} s")
    return 0


def _ago(stamp: float) -> str:
    seconds = time.time() - stamp
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
    return f"{when} ({seconds / 3600:.1f} h ago)" if seconds >= 3600 else f"{when} ({seconds:.0f} s ago)"


def _lag_line(backup: BackupSettings) -> str:
    """Samples Litestream for up to 3 s: caught up, or behind for at least that long."""
    started = time.monotonic()
    first = read_position(backup.monitor_port)
    if first is None:
        return f"not replicating (no Litestream answers on 127.0.0.1:{backup.monitor_port}: is the server running?)"
    position = first
    while time.monotonic() - started < 3:
        if position.caught_up or (position.replica is not None and position.replica >= first.local):
            waited = time.monotonic() - started
            return "0 s (caught up)" if waited < 0.05 else f"under {waited + 1:.0f} s"
        time.sleep(0.2)
        position = read_position(backup.monitor_port) or position
    return (
        f"over 3 s (replica at {position.replica}, database at {position.local}; sync errors: {position.sync_errors})"
    )


def print_status(backup: BackupSettings) -> None:
    print(f"backup replica: {backup.replica_url}")
    print(f"replica lag: {_lag_line(backup)}")
    try:
        bucket = Bucket(backup)
        snapshot = bucket.last_snapshot()
        files = len(bucket.list_names(FILES))
    except Exception as error:  # the bucket is away: say so, the rest of the status stands
        print(f"bucket: unreachable ({error})")
        return
    print(f"last snapshot: {_ago(snapshot) if snapshot else 'none yet'}")
    print(f"files in the bucket: {files}")
