"""Message search: the index kept beside the messages, and the query over it.

SQLite keeps an FTS5 table, PostgreSQL a tsvector column with a GIN index. Both hold what Python
made of the text (folding.words), never what a database's own parser makes of it, so a word
is the same word on either database and in the query. Each row also names its parties — "u<id>"
for each person, "c<lo>x<hi>" for the chat — so the index itself narrows a search to the chats of
the one who asks (the SQL checks the message's people again all the same).
"""

from __future__ import annotations

from store.dialects.base import Dialect
from store.folding import words
from store.raw import RawConnection
from store.rows import MESSAGE_COLUMNS, USER_COLUMNS, Message, User, prefixed

MESSAGE_COLUMNS_M = prefixed(MESSAGE_COLUMNS, "m")

MAX_QUERY_WORDS = 16
BUILD_CHUNK = 2000


def parties(sender_id: int, recipient_id: int) -> list[str]:
    low, high = sorted((sender_id, recipient_id))
    people = [f"u{sender_id}"] if sender_id == recipient_id else [f"u{sender_id}", f"u{recipient_id}"]
    return [*people, f"c{low}x{high}"]


def index_row(dialect: Dialect, message_id: int, sender_id: int, recipient_id: int, text: str) -> tuple:
    return dialect.search_row(message_id, words(text), parties(sender_id, recipient_id))


class SearchRows:
    """The index changes of one writer batch, written with the batch's other rows."""

    __slots__ = ("_stale", "_fresh")

    def __init__(self) -> None:
        self._stale: set[int] = set()  # ids whose indexed words must go first
        self._fresh: dict[int, tuple[int, int, str]] = {}  # id -> (sender, recipient, text) to index

    def added(self, message: Message) -> None:
        """A new message; an encrypted one is never indexed (its text is not the server's to read)."""
        if message.envelope is not None:
            return
        self._fresh[message.id] = (message.sender_id, message.recipient_id, message.text)

    def changed(self, message: Message) -> None:
        """An edited or deleted message: indexed again with its new text, or no longer."""
        self._stale.add(message.id)
        self._fresh.pop(message.id, None)
        if not message.deleted and message.envelope is None:
            self._fresh[message.id] = (message.sender_id, message.recipient_id, message.text)

    def take_steps(self, dialect: Dialect) -> list[tuple[str, list[tuple]]]:
        steps = []
        if self._stale:
            steps.append((dialect.search_delete, [(message_id,) for message_id in self._stale]))
        if self._fresh:
            steps.append((dialect.search_insert, [index_row(dialect, i, *fields) for i, fields in self._fresh.items()]))
        self._stale, self._fresh = set(), {}
        return steps


def name_key(display_name: str) -> str:
    """A display name as people search it: its folded words, each after a space."""
    return "".join(f" {word}" for word in words(display_name))


async def index_user_name(conn: RawConnection, user_id: int, display_name: str) -> None:
    await conn.execute("UPDATE users SET display_name_key = ? WHERE id = ?", (name_key(display_name), user_id))


async def users_by_name(conn: RawConnection, text: str, exclude_ids: list[int], limit: int) -> list[User]:
    """Users whose display name has words starting with the text's words (in order), by username."""
    key = name_key(text)
    if not key or limit <= 0:
        return []
    marks = ",".join("?" * len(exclude_ids))
    # The key holds letters, digits and spaces only, so LIKE's wildcards cannot come from it.
    rows = await conn.fetch_all(
        f"SELECT {USER_COLUMNS} FROM users WHERE display_name_key LIKE ? AND id NOT IN ({marks})"
        " ORDER BY username_key LIMIT ?",
        (f"%{key}%", *exclude_ids, limit),
    )
    return [User(*row) for row in rows]


async def build_index(conn: RawConnection) -> int:
    """Indexes the messages and names stored before search existed, once; returns how many messages."""
    if await conn.fetch_value("SELECT built FROM search_index_state") != 0:
        return 0
    dialect = conn.dialect
    indexed, after = 0, 0
    await conn.begin_write()
    try:
        # An instance starting at the same moment waits here for this one, then finds it built.
        if await conn.fetch_value(f"SELECT built FROM search_index_state{dialect.lock_for_update}") != 0:
            await conn.execute("COMMIT")
            return 0
        while True:
            rows = await conn.fetch_all(
                "SELECT id, sender_id, recipient_id, text FROM messages WHERE id > ? AND deleted = 0"
                " ORDER BY id LIMIT ?",
                (after, BUILD_CHUNK),
            )
            if not rows:
                break
            await conn.execute_many(dialect.search_insert, [index_row(dialect, *row) for row in rows])
            indexed += len(rows)
            after = rows[-1][0]
        for user_id, display_name in await conn.fetch_all("SELECT id, display_name FROM users"):
            await index_user_name(conn, user_id, display_name)
        await conn.execute("UPDATE search_index_state SET built = 1")
        await conn.execute("COMMIT")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    return indexed


async def search(
    conn: RawConnection, user_id: int, peer_id: int | None, text: str, before: int, limit: int
) -> list[Message]:
    """Up to `limit` messages of the user's chats (or of one chat) matching the text, newest first."""
    query_words = words(text)[:MAX_QUERY_WORDS]
    if not query_words:
        return []
    if peer_id is None:
        party = f"u{user_id}"
        people = "(m.sender_id = ? OR m.recipient_id = ?)"
        params: tuple = (user_id, user_id)
    else:
        party = parties(user_id, peer_id)[-1]
        people = "((m.sender_id = ? AND m.recipient_id = ?) OR (m.sender_id = ? AND m.recipient_id = ?))"
        params = (user_id, peer_id, peer_id, user_id)
    dialect = conn.dialect
    source, order = dialect.search_source, dialect.search_order
    sql = (
        f"SELECT {MESSAGE_COLUMNS_M} FROM {source} AND m.deleted = 0 AND {people}"
        " AND (m.withheld = 0 OR m.sender_id = ?)"  # a message withheld from a blocker is its sender's only
        " AND NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = ? AND h.message_id = m.id)"
        f" ORDER BY {order} DESC LIMIT ?"
    )
    match = dialect.search_match(query_words, party)
    rows = await conn.fetch_all(sql, (match, before, *params, user_id, user_id, limit))
    return [Message(*row) for row in rows]
