"""Queries that read: each takes a reader connection and returns rows or plain dicts."""

from __future__ import annotations

from store.connection import RawConnection, Row
from store.records import MESSAGE_COLUMNS, READ, USER_COLUMNS

MESSAGE_COLUMNS_M = ", ".join(f"m.{column.strip()}" for column in MESSAGE_COLUMNS.split(","))


async def user_by_key(conn: RawConnection, username_key: str) -> Row | None:
    return await conn.fetch_one(f"SELECT {USER_COLUMNS} FROM users WHERE username_key = ?", (username_key,))


async def user_by_id(conn: RawConnection, user_id: int) -> Row | None:
    return await conn.fetch_one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))


async def password_hash(conn: RawConnection, user_id: int) -> str | None:
    return await conn.fetch_value("SELECT password_hash FROM users WHERE id = ?", (user_id,))


async def usernames(conn: RawConnection, user_ids: list[int]) -> list[Row]:
    marks = ",".join("?" * len(user_ids))
    return await conn.fetch_all(f"SELECT id, username FROM users WHERE id IN ({marks})", user_ids)


async def search_users(conn: RawConnection, prefix_key: str, exclude_id: int, limit: int) -> list[Row]:
    # A range on the unique index: every allowed character sorts below "{".
    return await conn.fetch_all(
        f"SELECT {USER_COLUMNS} FROM users WHERE username_key >= ? AND username_key < ? AND id <> ?"
        " ORDER BY username_key LIMIT ?",
        (prefix_key, prefix_key + "{", exclude_id, limit),
    )


async def session(conn: RawConnection, session_id: str) -> Row | None:
    return await conn.fetch_one("SELECT user_id, expires_at, revoked_at FROM sessions WHERE id = ?", (session_id,))


USER_COLUMNS_U = ", ".join(f"u.{column.strip()}" for column in USER_COLUMNS.split(","))


async def chats_and_unread(conn: RawConnection, user_id: int, limit: int) -> tuple[list[Row], dict[int, int]]:
    """(peer user columns…, message columns…) per chat, most recent first, and the unread
    count per peer: two queries, one trip."""
    chats, unread = await conn.fetch_several(
        [
            (
                f"SELECT {USER_COLUMNS_U}, {MESSAGE_COLUMNS_M} FROM chats c"
                " JOIN messages m ON m.id = c.last_message_id JOIN users u ON u.id = c.peer_id"
                " WHERE c.user_id = ? ORDER BY c.last_message_id DESC LIMIT ?",
                (user_id, limit),
            ),
            (
                "SELECT sender_id, COUNT(*) FROM messages WHERE recipient_id = ? AND status < ? AND deleted = 0"
                " AND withheld = 0 GROUP BY sender_id",
                (user_id, READ),
            ),
        ]
    )
    return chats, dict(unread)


async def chat_partners(conn: RawConnection, user_id: int) -> list[Row]:
    """(id, username) of the user and of everyone they have a chat with: one trip."""
    own, peers = await conn.fetch_several(
        [
            ("SELECT id, username FROM users WHERE id = ?", (user_id,)),
            ("SELECT u.id, u.username FROM chats c JOIN users u ON u.id = c.peer_id WHERE c.user_id = ?", (user_id,)),
        ]
    )
    return [*own, *peers]


async def user_and_last_seq(conn: RawConnection, user_id: int) -> tuple[Row | None, int]:
    """The user's row and the end of their update stream: one trip."""
    user, seq = await conn.fetch_several(
        [
            (f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)),
            ("SELECT MAX(seq) FROM updates WHERE user_id = ?", (user_id,)),
        ]
    )
    return (user[0] if user else None), (seq[0][0] if seq else None) or 0


async def history(conn: RawConnection, user_id: int, peer_id: int, before: int, limit: int) -> list[Row]:
    """Up to `limit` messages of the chat with ids below `before`, newest first."""
    one_side = f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND recipient_id = ? AND id < ?"
    if user_id == peer_id:
        return await conn.fetch_all(f"{one_side} ORDER BY id DESC LIMIT ?", (user_id, user_id, before, limit))
    return await conn.fetch_all(
        f"SELECT * FROM ({one_side} ORDER BY id DESC LIMIT ?) AS mine"
        f" UNION ALL SELECT * FROM ({one_side} AND withheld = 0 ORDER BY id DESC LIMIT ?) AS theirs"
        " ORDER BY id DESC LIMIT ?",
        (user_id, peer_id, before, limit, peer_id, user_id, before, limit, limit),
    )


async def message(conn: RawConnection, message_id: int) -> Row | None:
    return await conn.fetch_one(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))


async def updates_after(conn: RawConnection, user_id: int, after: int, limit: int) -> list[Row]:
    """(seq, kind, message_id, peer_id, message columns… or NULLs) in seq order."""
    return await conn.fetch_all(
        f"SELECT u.seq, u.kind, u.message_id, u.peer_id, {MESSAGE_COLUMNS_M} FROM updates u"
        " LEFT JOIN messages m ON m.id = u.message_id AND u.kind IN (1, 2, 4, 5)"
        " WHERE u.user_id = ? AND u.seq > ? ORDER BY u.seq LIMIT ?",
        (user_id, after, limit),
    )


async def last_seq(conn: RawConnection, user_id: int) -> int:
    return await conn.fetch_value("SELECT MAX(seq) FROM updates WHERE user_id = ?", (user_id,)) or 0
