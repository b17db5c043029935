"""Settings, read once from the environment into one frozen object."""

from __future__ import annotations

import logging
import os
import secrets
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from backup.settings import BackupSettings, BackupSettingsError, load_backup_settings
from media.settings import MediaSettings, load_media_settings
from push.keys import KEY_FILE as VAPID_KEY_FILE
from push.keys import new_vapid_key, vapid_private_key

log = logging.getLogger("payambar")

DEFAULT_DATABASE_URL = "sqlite:///./data/payambar.db"
SECRET_KEY_FILE = "secret_key"


class SettingsError(Exception):
    """A setting has a value the server cannot start with."""


@dataclass(frozen=True)
class CallSettings:
    """Voice and video calls (calls/, docs/calls.md)."""

    turn_urls: tuple[str, ...] = ()  # turns:, turn: and stun: URLs, any order
    turn_secret: str = ""  # coturn's static-auth-secret
    turn_lifetime: int = 3600  # seconds TURN credentials work (at most an hour)
    ring_timeout: int = 45  # seconds a call rings before it ends unanswered
    invites_per_minute: int = 10  # calls one person may start a minute


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
    send_queue_limit: int
    redis_url: str
    workers: int
    media: MediaSettings
    registrations_per_hour: int = 10
    login_failures_per_username: int = 10
    login_failures_per_address: int = 30
    login_failures_per_username_and_address: int = 10
    sends_per_minute: int = 600
    bcrypt_rounds: int = 12  # BCRYPT_ROUNDS: cost of new password hashes
    ws_per_user: int = 50  # WebSockets one user may hold on one instance
    ws_per_session: int = 20  # and one session (a device, or an API token)
    # Web Push (push/): the VAPID key (raw base64url or PEM), the contact the push services see,
    # whether endpoints may be private addresses, and an extra CA file to trust for them.
    vapid_private_key: str = ""
    vapid_subject: str = "mailto:admin@payambar.invalid"
    push_allow_private: bool = False
    push_ca_file: str = ""
    sqlite_max_pages: int = 0
    metrics_token: str = ""
    public_url: str = ""  # the address people reach the app at (https://chat.example.org); empty: unknown
    log_level: str = "info"
    log_format: str = "plain"
    backup: BackupSettings = BackupSettings()  # continuous backup off the box (backup/)
    max_envelope_bytes: int = 47_104  # an end-to-end encrypted message's envelope; its base64 fits a 64 KiB body
    key_requests_per_hour: int = 20_000  # key directory reads and claims by one person
    calls: CallSettings = field(default_factory=CallSettings)
    # Link previews (previews/): whether the server fetches them for senders, and (tests only)
    # whether it may fetch pages on private addresses.
    link_previews: bool = True
    link_preview_allow_private: bool = False

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


def _bcrypt_rounds(env: dict[str, str], environment: str) -> int:
    """bcrypt's cost for new password hashes. Tests lower it (each step halves the time); a
    production server refuses less than the default."""
    rounds = _int(env, "BCRYPT_ROUNDS", 12, 4, 16)
    if environment == "production" and rounds < 12:
        raise SettingsError("BCRYPT_ROUNDS below 12 is for tests: a production server keeps 12 or more")
    return rounds


def _secret_key(env: dict[str, str], data_dir: Path, environment: str) -> str:
    given = env.get("SECRET_KEY", "").strip()
    if given:
        if len(given) < 16:
            raise SettingsError("SECRET_KEY must be at least 16 characters")
        return given
    key_file = data_dir / SECRET_KEY_FILE
    if environment == "production":
        log.warning("SECRET_KEY is not set: using the key kept in %s", key_file)
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        return ""  # made and kept at start, by with_kept_keys


def with_kept_keys(settings: Settings) -> Settings:
    """The settings with every key they lack made once and kept in the data folder (mode 0600),
    so a restart keeps everyone logged in and every browser's push subscription. Run at start,
    not while reading the settings: reading never writes."""
    secret_key, vapid_key = settings.secret_key, settings.vapid_private_key
    if not secret_key:
        secret_key = _keep(settings.data_dir / SECRET_KEY_FILE, secrets.token_urlsafe(48))
    if not vapid_key:
        vapid_key = _keep(settings.data_dir / VAPID_KEY_FILE, new_vapid_key())
    return replace(settings, secret_key=secret_key, vapid_private_key=vapid_key)


def _keep(key_file: Path, key: str) -> str:
    key_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker process made it first: use theirs
        return _written_key(key_file)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return key


def _written_key(key_file: Path) -> str:
    for _ in range(50):
        key = key_file.read_text().strip()
        if key:
            return key
        time.sleep(0.02)
    raise SettingsError(f"{key_file} stays empty")


def _metrics_token(env: dict[str, str]) -> str:
    token = env.get("METRICS_TOKEN", "").strip()
    if token and len(token) < 16:
        raise SettingsError("METRICS_TOKEN must be at least 16 characters (or unset, to turn /metrics off)")
    return token


def _public_url(env: dict[str, str]) -> str:
    url = env.get("PUBLIC_URL", "").strip().rstrip("/")
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError("PUBLIC_URL must be an http(s) address such as https://chat.example.org")
    return url


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
        send_queue_limit=_int(
            env, "SEND_QUEUE_LIMIT" if env.get("SEND_QUEUE_LIMIT") else "OUTBOX_LIMIT", 4096, 16, 1_000_000
        ),
        ws_per_user=_int(env, "WS_PER_USER", 50, 1, 100_000),
        ws_per_session=_int(env, "WS_PER_SESSION", 20, 1, 100_000),
        redis_url=redis_url,
        workers=workers,
        media=load_media_settings(env, data_dir, _int),
        sqlite_max_pages=_int(env, "SQLITE_MAX_PAGES", 0, 0, 2**31 - 1),
        metrics_token=_metrics_token(env),
        public_url=_public_url(env),
        log_level=env.get("LOG_LEVEL", "info").strip().lower() or "info",
        log_format=env.get("LOG_FORMAT", "plain").strip().lower() or "plain",
        max_envelope_bytes=_int(env, "E2EE_MAX_ENVELOPE_BYTES", 47_104, 1024, 47_104),
        key_requests_per_hour=_int(env, "KEY_REQUESTS_PER_HOUR", 20_000, 1, 10_000_000),
        registrations_per_hour=_int(env, "REGISTRATIONS_PER_HOUR", 10, 1, 1_000_000),
        login_failures_per_username=_int(env, "LOGIN_FAILURES_PER_USERNAME", 10, 1, 1_000_000),
        login_failures_per_address=_int(env, "LOGIN_FAILURES_PER_ADDRESS", 30, 1, 1_000_000),
        login_failures_per_username_and_address=_int(env, "LOGIN_FAILURES_PER_USERNAME_AND_ADDRESS", 10, 1, 1_000_000),
        sends_per_minute=_int(env, "SENDS_PER_MINUTE", 600, 1, 10_000_000),
        bcrypt_rounds=_bcrypt_rounds(env, environment),
        backup=_backup_settings(env, database_url),
        calls=_call_settings(env),
        link_previews=_switch(env, "LINK_PREVIEWS", True),
        link_preview_allow_private=_switch(env, "LINK_PREVIEW_ALLOW_PRIVATE", False),
        **_push_settings(env, data_dir),
    )


def _backup_settings(env: dict[str, str], database_url: str) -> BackupSettings:
    try:
        return load_backup_settings(env, is_sqlite=database_url.startswith("sqlite"))
    except BackupSettingsError as error:
        raise SettingsError(str(error)) from None


def _switch(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "default"):
        return default
    if raw not in ("0", "1", "false", "true", "off", "on"):
        raise SettingsError(f"{name} must be 0 or 1")
    return raw in ("1", "true", "on")


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


TURN_SCHEMES = ("turns:", "turn:", "stun:", "stuns:")


def _call_settings(env: dict[str, str]) -> CallSettings:
    urls = tuple(url.strip() for url in env.get("TURN_URLS", "").split(",") if url.strip())
    for url in urls:
        if not url.lower().startswith(TURN_SCHEMES):
            raise SettingsError(f"TURN_URLS holds turns:, turn: or stun: URLs, got {url!r}")
    secret = env.get("TURN_SECRET", "").strip()
    if secret and len(secret) < 16:
        raise SettingsError("TURN_SECRET must be at least 16 characters (coturn's static-auth-secret)")
    if any(url.lower().startswith("turn") for url in urls) and not secret:
        raise SettingsError("TURN_URLS names a TURN server: TURN_SECRET (its static-auth-secret) is needed too")
    return CallSettings(
        turn_urls=urls,
        turn_secret=secret,
        turn_lifetime=_int(env, "TURN_CREDENTIAL_SECONDS", 3600, 60, 3600),
        ring_timeout=_int(env, "CALL_RING_TIMEOUT", 45, 1, 600),
        invites_per_minute=_int(env, "CALL_INVITES_PER_MINUTE", 10, 1, 100_000),
    )
