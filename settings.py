"""Settings, read once from the environment into one frozen object."""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from media.settings import MediaSettings, load_media_settings
from push.keys import vapid_private_key

log = logging.getLogger("payambar")

DEFAULT_DATABASE_URL = "sqlite:///./data/payambar.db"


class SettingsError(Exception):
    """A setting has a value the server cannot start with."""


@dataclass(frozen=True)
class Settings:
    port: int
    database_url: str
    secret_key: str
    token_ttl: int
    cors_origins: tuple[str, ...]
    max_message_length: int
    environment: str
    sqlite_synchronous: str
    data_dir: Path
    outbox_limit: int
    redis_url: str
    workers: int
    media: MediaSettings
    registrations_per_hour: int = 10
    login_failures_per_username: int = 10
    login_failures_per_address: int = 30
    sends_per_minute: int = 600
    # Web Push (push/): the VAPID key (raw base64url or PEM), the contact the push services see,
    # whether endpoints may be private addresses, and an extra CA file to trust for them.
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:admin@payambar.invalid"
    push_allow_private: bool = False
    push_ca_file: str = ""
    sqlite_max_pages: int = 0
    metrics_token: str = ""

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def sqlite_path(database_url: str) -> Path | None:
    """The file behind a sqlite:/// URL, or None for other databases and in-memory ones."""
    if not database_url.startswith("sqlite:///"):
        return None
    path = database_url[len("sqlite:///") :].split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def _secret_key(env: dict[str, str], data_dir: Path, environment: str) -> str:
    given = env.get("SECRET_KEY", "").strip()
    if given:
        if len(given) < 16:
            raise SettingsError("SECRET_KEY must be at least 16 characters")
        return given
    key_file = data_dir / "secret_key"
    if environment == "production":
        log.warning("SECRET_KEY is not set: using the key kept in %s", key_file)
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key


def _metrics_token(env: dict[str, str]) -> str:
    token = env.get("METRICS_TOKEN", "").strip()
    if token and len(token) < 16:
        raise SettingsError("METRICS_TOKEN must be at least 16 characters (or unset, to turn /metrics off)")
    return token


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    database_url = env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://") :]
    if not database_url.startswith(("sqlite:///", "postgresql://")):
        raise SettingsError("DATABASE_URL must start with sqlite:/// or postgresql://")
    environment = env.get("ENVIRONMENT", "development").strip().lower() or "development"
    if environment not in ("development", "production", "test"):
        raise SettingsError("ENVIRONMENT must be development, production or test")
    synchronous = env.get("SQLITE_SYNCHRONOUS", "normal").strip().lower()
    if synchronous not in ("normal", "full"):
        raise SettingsError("SQLITE_SYNCHRONOUS must be normal or full")
    database_file = sqlite_path(database_url)
    data_dir = Path(env.get("DATA_DIR", "") or (database_file.parent if database_file else "data"))
    origins = tuple(o.strip() for o in env.get("CORS_ORIGINS", "").split(",") if o.strip())
    redis_url = env.get("REDIS_URL", "").strip()
    if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("REDIS_URL must start with redis://, rediss:// or unix://")
    workers = _int(env, "WEB_CONCURRENCY", 1, 1, 256)
    if workers > 1 and database_url.startswith("sqlite"):
        raise SettingsError(
            "WEB_CONCURRENCY above 1 needs DATABASE_URL=postgresql://…: one SQLite file has one writer process"
        )
    if workers > 1 and not redis_url:
        raise SettingsError("WEB_CONCURRENCY above 1 needs REDIS_URL: workers share live delivery through Redis")
    return Settings(
        port=_int(env, "PORT", 8000, 1, 65535),
        database_url=database_url,
        secret_key=_secret_key(env, data_dir, environment),
        token_ttl=_int(env, "TOKEN_TTL", 86400, 60, 90 * 86400),
        cors_origins=origins,
        max_message_length=_int(env, "MAX_MESSAGE_LENGTH", 4096, 1, 65536),
        environment=environment,
        sqlite_synchronous=synchronous,
        data_dir=data_dir,
        outbox_limit=_int(env, "OUTBOX_LIMIT", 4096, 16, 1_000_000),
        redis_url=redis_url,
        workers=workers,
        media=load_media_settings(env, data_dir, _int),
        sqlite_max_pages=_int(env, "SQLITE_MAX_PAGES", 0, 0, 2**31 - 1),
        metrics_token=_metrics_token(env),
        registrations_per_hour=_int(env, "REGISTRATIONS_PER_HOUR", 10, 1, 1_000_000),
        login_failures_per_username=_int(env, "LOGIN_FAILURES_PER_USERNAME", 10, 1, 1_000_000),
        login_failures_per_address=_int(env, "LOGIN_FAILURES_PER_ADDRESS", 30, 1, 1_000_000),
        sends_per_minute=_int(env, "SENDS_PER_MINUTE", 600, 1, 10_000_000),
        **_push_settings(env, data_dir),
    )


def _push_settings(env: dict[str, str], data_dir: Path) -> dict:
    subject = env.get("VAPID_SUBJECT", "").strip() or "mailto:admin@payambar.invalid"
    if not subject.startswith(("mailto:", "https://")):
        raise SettingsError("VAPID_SUBJECT must be a mailto: or https: address")
    ca_file = env.get("PUSH_CA_FILE", "").strip()
    if ca_file and not Path(ca_file).is_file():
        raise SettingsError(f"PUSH_CA_FILE {ca_file!r} is not a file")
    allow_private = env.get("PUSH_ALLOW_PRIVATE", "").strip().lower()
    if allow_private not in ("", "0", "1", "false", "true"):
        raise SettingsError("PUSH_ALLOW_PRIVATE must be 0 or 1")
    try:
        private_key = vapid_private_key(env.get("VAPID_PRIVATE_KEY", ""), data_dir)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    return {
        "vapid_private_key": private_key,
        "vapid_subject": subject,
        "push_allow_private": allow_private in ("1", "true"),
        "push_ca_file": ca_file,
    }
