"""Schema versions. Version 1 is schema.sql; each later change is appended here, never edited.

A database is upgraded in place at start: the steps it has not recorded run in order, each in
its own transaction together with its version number (a number kept for a step that landed after
later ones still runs on a database that has those). On PostgreSQL instances
starting together take turns (an advisory lock), so each step runs exactly once. A database
newer than this code stops the server.
"""

from __future__ import annotations

from pathlib import Path

from store.dialects.base import Dialect
from store.raw import RawConnection

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "schema.sql"
MIGRATION_LOCK = 7_214_302_551  # the advisory lock id all instances agree on


class SchemaTooNew(Exception):
    """The database was written by a newer release."""


def split_statements(sql: str) -> list[str]:
    """The statements of a SQL script; comments start with -- and hold no semicolons."""
    lines = [line.split("--", 1)[0] for line in sql.splitlines()]
    return [statement.strip() for statement in "\n".join(lines).split(";") if statement.strip()]


def baseline() -> list[str]:
    return split_statements(SCHEMA_FILE.read_text())


PUSH_SUBSCRIPTIONS = """CREATE TABLE push_subscriptions (
    endpoint TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    p256dh TEXT NOT NULL,
    auth TEXT NOT NULL,
    created_at BIGINT NOT NULL
)"""
# Version 4: uploads in progress, finished files, attachments on messages, profile photos.
MEDIA = [
    "CREATE TABLE uploads (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " length BIGINT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)",
    "CREATE INDEX uploads_by_user ON uploads (user_id)",
    "CREATE INDEX uploads_by_expiry ON uploads (expires_at)",
    "CREATE TABLE files (id TEXT PRIMARY KEY, owner_id INTEGER NOT NULL, sha256 TEXT NOT NULL,"
    " name TEXT NOT NULL, mime TEXT NOT NULL, size BIGINT NOT NULL, width INTEGER, height INTEGER,"
    " duration_ms INTEGER, waveform TEXT, blurhash TEXT, thumbnail_sha256 TEXT, created_at BIGINT NOT NULL)",
    "CREATE INDEX files_by_owner ON files (owner_id)",
    "ALTER TABLE messages ADD COLUMN file_id TEXT",
    "ALTER TABLE messages ADD COLUMN attachment TEXT",  # the file object as JSON: files never change
    "CREATE INDEX messages_by_file ON messages (file_id) WHERE file_id IS NOT NULL",
    "ALTER TABLE users ADD COLUMN avatar TEXT",  # the profile photo's version, NULL without one
    "CREATE TABLE avatars (user_id INTEGER PRIMARY KEY, version TEXT NOT NULL, small_sha256 TEXT NOT NULL,"
    " medium_sha256 TEXT NOT NULL, large_sha256 TEXT NOT NULL, updated_at BIGINT NOT NULL)",
]

# Version 6: end-to-end encryption. The key directory (store/keys.py) and each message's envelope,
# opaque bytes the server never opens; a message with one has empty text.
KEY_DIRECTORY = [
    "CREATE TABLE key_identities (user_id INTEGER PRIMARY KEY, identity_key TEXT NOT NULL,"
    " version BIGINT NOT NULL, device_list TEXT NOT NULL, updated_at BIGINT NOT NULL)",
    "CREATE TABLE key_bundles (user_id INTEGER NOT NULL, device_id TEXT NOT NULL, device_key TEXT NOT NULL,"
    " bundle TEXT, updated_at BIGINT NOT NULL, PRIMARY KEY (user_id, device_id))",
    "CREATE TABLE key_one_time (user_id INTEGER NOT NULL, device_id TEXT NOT NULL, key_id BIGINT NOT NULL,"
    " prekey TEXT NOT NULL, PRIMARY KEY (user_id, device_id, key_id))",
]

KEY_LINKS = """CREATE TABLE key_links (
    id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    answered_by TEXT,
    commitment TEXT NOT NULL,
    existing_key TEXT,
    revealed TEXT,
    sealed TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
)"""

# (version, statements): a list for both databases, or {"sqlite": [...], "postgresql": [...]}.
# Append new steps; never change a released one.
MIGRATIONS: list[tuple[int, list[str] | dict[str, list[str]]]] = [
    (1, baseline()),
    (
        2,
        {
            # Several instances may write a PostgreSQL database: ids come from sequences and each
            # user's newest seq is a locked counter. SQLite's single writer counts in memory.
            "sqlite": [],
            "postgresql": [
                "ALTER TABLE users ADD COLUMN last_seq BIGINT NOT NULL DEFAULT 0",
                "UPDATE users SET last_seq = COALESCE((SELECT MAX(seq) FROM updates WHERE user_id = users.id), 0)",
                "CREATE SEQUENCE messages_id_seq",
                "SELECT setval('messages_id_seq', (SELECT COALESCE(MAX(id), 0) + 1 FROM messages), false)",
                "CREATE SEQUENCE users_id_seq",
                "SELECT setval('users_id_seq', (SELECT COALESCE(MAX(id), 0) + 1 FROM users), false)",
            ],
        },
    ),
    # Search, push subscriptions, forwarding (the original author's username: usernames never
    # change) and delete-for-me. message_search holds each message's
    # folded words (folding.words) and its parties: "u<id>" per person, "c<lo>x<hi>" per chat;
    # users.display_name_key the folded words of the display name. store/search.py keeps both in
    # step with their sources and fills them once for older databases.
    (
        3,
        {
            "sqlite": [
                "CREATE VIRTUAL TABLE message_search USING fts5(words, parties,"
                " tokenize = 'unicode61 remove_diacritics 0', prefix = '2 3')",
                "CREATE TABLE search_index_state (built SMALLINT NOT NULL)",
                "INSERT INTO search_index_state (built) VALUES (0)",
                "CREATE TABLE hidden_messages (user_id INTEGER NOT NULL, message_id INTEGER NOT NULL,"
                " PRIMARY KEY (user_id, message_id)) WITHOUT ROWID",
                "ALTER TABLE messages ADD COLUMN forwarded_from TEXT",
                "ALTER TABLE users ADD COLUMN display_name_key TEXT NOT NULL DEFAULT ''",
                PUSH_SUBSCRIPTIONS,
                "CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id)",
                "CREATE INDEX push_subscriptions_by_session ON push_subscriptions (session_id)",
            ],
            "postgresql": [
                "CREATE TABLE message_search (message_id INTEGER PRIMARY KEY, words TSVECTOR NOT NULL)",
                "CREATE INDEX message_search_words ON message_search USING GIN (words)",
                "CREATE TABLE search_index_state (built SMALLINT NOT NULL)",
                "INSERT INTO search_index_state (built) VALUES (0)",
                "CREATE TABLE hidden_messages (user_id INTEGER NOT NULL, message_id INTEGER NOT NULL,"
                " PRIMARY KEY (user_id, message_id))",
                "ALTER TABLE messages ADD COLUMN forwarded_from TEXT",
                "ALTER TABLE users ADD COLUMN display_name_key TEXT NOT NULL DEFAULT ''",
                PUSH_SUBSCRIPTIONS,
                "CREATE INDEX push_subscriptions_by_user ON push_subscriptions (user_id)",
                "CREATE INDEX push_subscriptions_by_session ON push_subscriptions (session_id)",
            ],
        },
    ),
    (4, MEDIA),
    (
        5,
        [
            # A session is a device's login (kind 'session') or a named API token (kind 'token').
            "ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'session'",
            "ALTER TABLE sessions ADD COLUMN name TEXT",
            "ALTER TABLE sessions ADD COLUMN user_agent TEXT",
            "ALTER TABLE sessions ADD COLUMN address TEXT",
            "ALTER TABLE sessions ADD COLUMN last_active BIGINT",
            # who may see when a user was last online: everyone, contacts or nobody
            "ALTER TABLE users ADD COLUMN last_seen_visibility TEXT NOT NULL DEFAULT 'everyone'",
            # a deleted account keeps its row (and so its username) with everything else emptied
            "ALTER TABLE users ADD COLUMN deleted_at BIGINT",
            "CREATE TABLE blocks (blocker_id INTEGER NOT NULL, blocked_id INTEGER NOT NULL,"
            " created_at BIGINT NOT NULL, PRIMARY KEY (blocker_id, blocked_id))",
            # a message sent to someone who blocked its sender: kept for the sender only
            "ALTER TABLE messages ADD COLUMN withheld SMALLINT NOT NULL DEFAULT 0",
        ],
    ),
    (
        6,
        [
            # what an API token may do, space-separated (read, send, account); NULL: everything
            # but what needs a logged-in device (a browser session, or a token made before scopes)
            "ALTER TABLE sessions ADD COLUMN scopes TEXT",
        ],
    ),
    (
        7,
        {
            "sqlite": [*KEY_DIRECTORY, "ALTER TABLE messages ADD COLUMN envelope BLOB"],
            "postgresql": [*KEY_DIRECTORY, "ALTER TABLE messages ADD COLUMN envelope BYTEA"],
        },
    ),
    # A call history entry is a message with the call's record as JSON (docs/calls.md).
    (8, ["ALTER TABLE messages ADD COLUMN call_record TEXT"]),
    # The relay a new device and an approving one talk through (docs/e2ee.md §9, store/links.py):
    # one row per link, each slot written once, gone 10 minutes after it was made.
    (
        9,
        [
            KEY_LINKS,
            "CREATE INDEX key_links_by_user ON key_links (user_id)",
            "CREATE INDEX key_links_by_expiry ON key_links (expires_at)",
        ],
    ),
    # An upload its sender sealed end to end (docs/e2ee.md): kept and served as opaque bytes.
    # key_backups: each person's key backup, sealed by their device under a recovery key.
    (
        10,
        [
            "ALTER TABLE uploads ADD COLUMN encrypted SMALLINT NOT NULL DEFAULT 0",
            "ALTER TABLE files ADD COLUMN encrypted SMALLINT NOT NULL DEFAULT 0",
            "CREATE TABLE key_backups (user_id INTEGER PRIMARY KEY, version BIGINT NOT NULL,"
            " sealed TEXT NOT NULL, updated_at BIGINT NOT NULL)",
        ],
    ),
    # A person's own settings of a chat (store/chat_settings.py); a chat with none has no row.
    (
        11,
        [
            "CREATE TABLE chat_settings (user_id INTEGER NOT NULL, peer_id INTEGER NOT NULL, pinned_at BIGINT,"
            " muted_until BIGINT, archived SMALLINT NOT NULL DEFAULT 0, marked_unread SMALLINT NOT NULL DEFAULT 0,"
            " PRIMARY KEY (user_id, peer_id))",
        ],
    ),
    # Reactions (one per person, on the message: store/reactions.py) and pins of messages in a chat.
    (
        12,
        [
            "ALTER TABLE messages ADD COLUMN reactions TEXT",
            "ALTER TABLE messages ADD COLUMN pinned_at BIGINT",
        ],
    ),
]


def newest_version() -> int:
    return max(version for version, _ in MIGRATIONS)


async def schema_version(conn: RawConnection) -> int:
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    version = await conn.fetch_value("SELECT MAX(version) FROM schema_version")
    return version or 0


def statements_for(step: list[str] | dict[str, list[str]], dialect: Dialect) -> list[str]:
    """A step's statements as this database runs them (a step may differ per database)."""
    chosen = step.get(dialect.name, []) if isinstance(step, dict) else step
    return [dialect.schema_statement(statement) for statement in chosen]


async def migrate(conn: RawConnection, migrations: list | None = None) -> int:
    """Brings the database up to the newest version; returns that version."""
    steps = sorted(MIGRATIONS if migrations is None else migrations, key=lambda step: step[0])
    await conn.dialect.lock_migrations(conn, MIGRATION_LOCK)
    try:
        return await _migrate(conn, steps)
    finally:
        await conn.dialect.unlock_migrations(conn, MIGRATION_LOCK)


async def _migrate(conn: RawConnection, steps: list) -> int:
    current = await schema_version(conn)
    known = max(version for version, _ in steps)
    if current > known:
        raise SchemaTooNew(
            f"the database is at schema version {current}, newer than this release knows ({known}):"
            " run the newer release, or restore a backup"
        )
    # A number kept for a step that lands after later ones (9, after 10 and 11) still runs on a
    # database that already has those: each step runs once, unless its own number is recorded.
    done = {row[0] for row in await conn.fetch_all("SELECT version FROM schema_version")}
    for version, step in steps:
        if version in done:
            continue
        await conn.begin_write()
        try:
            await conn.execute_script(statements_for(step, conn.dialect))
            await conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        current = max(current, version)
    return current
