"""The backup settings (BACKUP_*), read once at start with the others. Off unless
BACKUP_REPLICA_URL names a bucket."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

DURATION = re.compile(r"[1-9][0-9]*(ms|s|m|h)")


class BackupSettingsError(ValueError):
    """A BACKUP_* setting has a value the server cannot start with."""


@dataclass(frozen=True)
class BackupSettings:
    replica_url: str = ""  # s3://bucket/prefix; empty: no continuous backup
    endpoint: str = ""  # an S3-compatible service's URL; empty: AWS
    region: str = "us-east-1"
    access_key_id: str = ""
    secret_access_key: str = ""
    force_path_style: bool = False
    age_key: str = ""  # AGE-SECRET-KEY-1…: encrypts what goes to the bucket, opens it on restore
    sync_interval: str = "1s"
    snapshot_interval: str = "24h"
    retention: str = "168h"
    monitor_port: int = 9095  # Litestream's own figures, on loopback
    lag_warning_seconds: int = 10

    @property
    def enabled(self) -> bool:
        return bool(self.replica_url)

    @property
    def bucket(self) -> str:
        return urlsplit(self.replica_url).netloc

    @property
    def prefix(self) -> str:
        return urlsplit(self.replica_url).path.strip("/")


def parse_replica_url(url: str) -> str:
    """s3://bucket[/prefix], checked; returned without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise BackupSettingsError(f"BACKUP_REPLICA_URL must be s3://bucket/prefix, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.port:
        raise BackupSettingsError("BACKUP_REPLICA_URL takes a bucket and a prefix only (credentials go in BACKUP_S3_*)")
    return url.rstrip("/")


def check_age_key(raw: str, name: str = "BACKUP_AGE_KEY") -> str:
    import pyrage

    key = raw.strip()
    try:
        pyrage.x25519.Identity.from_str(key)
    except Exception:
        raise BackupSettingsError(
            f"{name} must be an age key (AGE-SECRET-KEY-1…, from `python -m payambar backup-key`)"
        ) from None
    return key


def _duration(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not DURATION.fullmatch(value):
        raise BackupSettingsError(f"{name} must be a duration such as 1s, 500ms, 6h; got {value!r}")
    return value


def _whole(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BackupSettingsError(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def bucket_access(env: dict[str, str]) -> dict:
    """Where the bucket is and how to reach it: what both replication and a restore need."""
    endpoint = env.get("BACKUP_S3_ENDPOINT", "").strip().rstrip("/")
    if endpoint and not endpoint.startswith(("https://", "http://")):
        raise BackupSettingsError("BACKUP_S3_ENDPOINT must be an https:// (or http://) URL")
    access_key_id = env.get("BACKUP_S3_ACCESS_KEY_ID", "").strip()
    secret_access_key = env.get("BACKUP_S3_SECRET_ACCESS_KEY", "").strip()
    if bool(access_key_id) != bool(secret_access_key):
        raise BackupSettingsError("set both BACKUP_S3_ACCESS_KEY_ID and BACKUP_S3_SECRET_ACCESS_KEY, or neither")
    path_style = env.get("BACKUP_S3_FORCE_PATH_STYLE", "").strip().lower()
    if path_style not in ("", "0", "1", "false", "true"):
        raise BackupSettingsError("BACKUP_S3_FORCE_PATH_STYLE must be 0 or 1")
    return {
        "endpoint": endpoint,
        "region": env.get("BACKUP_S3_REGION", "").strip() or "us-east-1",
        "access_key_id": access_key_id,
        "secret_access_key": secret_access_key,
        # Most S3-compatible services (MinIO, Arvan, a test server) want path-style addresses.
        "force_path_style": path_style in ("1", "true") if path_style else bool(endpoint),
    }


def load_backup_settings(env: dict[str, str], is_sqlite: bool) -> BackupSettings:
    replica_url = env.get("BACKUP_REPLICA_URL", "").strip()
    if not replica_url:
        return BackupSettings()
    if not is_sqlite:
        raise BackupSettingsError("BACKUP_REPLICA_URL replicates SQLite; back PostgreSQL up with its own tools")
    raw_key = env.get("BACKUP_AGE_KEY", "").strip()
    if not raw_key:
        raise BackupSettingsError(
            "BACKUP_REPLICA_URL needs BACKUP_AGE_KEY: backups leave the box encrypted, never in plain"
            " (make one with `python -m payambar backup-key`)"
        )
    return BackupSettings(
        replica_url=parse_replica_url(replica_url),
        age_key=check_age_key(raw_key),
        sync_interval=_duration(env, "BACKUP_SYNC_INTERVAL", "1s"),
        snapshot_interval=_duration(env, "BACKUP_SNAPSHOT_INTERVAL", "24h"),
        retention=_duration(env, "BACKUP_RETENTION", "168h"),
        monitor_port=_whole(env, "BACKUP_MONITOR_PORT", 9095, 1, 65535),
        lag_warning_seconds=_whole(env, "BACKUP_LAG_WARNING_SECONDS", 10, 1, 86400),
        **bucket_access(env),
    )
