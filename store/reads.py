"""Queries that read: each takes a reader connection and returns named rows."""

from __future__ import annotations

from store.raw import RawConnection
from store.rows import MESSAGE_COLUMNS, MESSAGE_KINDS, USER_COLUMNS, Message, Status, Update, User, prefixed

_MESSAGE_M = prefixed(MESSAGE_COLUMNS, "m")
_USER_U = prefixed(USER_COLUMNS, "u")
_USER_WIDTH = len(USER_COLUMNS.split(","))
_MESSAGE_KIND_LIST = ", ".join(str(int(kind)) for kind in MESSAGE_KINDS)


async def user_by_key(conn: RawConnection, username_key: str) -> User | None:
    row = await conn.fetch_one(f"SELECT {USER_COLUMNS} FROM users WHERE username_key = ?", (username_key,))
    return User(*row) if row else None


async def user_by_id(conn: RawConnection, user_id: int) -> User | None:
    row = await conn.fetch_one(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,))
    return User(*row) if row else None


async def password_hash(conn: RawConnection, user_id: int) -> str | None:
    return await conn.fetch_value("SELECT password_hash FROM users WHERE id = ?", (user_id,))


async def usernames(conn: RawConnection, user_ids: list[int]) -> list[tuple[int, str]]:
    marks = ",".join("?" * len(user_ids))
    return await conn.fetch_all(f"SELECT id, username FROM users WHERE id IN ({marks})", user_ids)


async def search_users(conn: RawConnection, prefix_key: str, exclude_id: int, limit: int) -> list[User]:
    # A range on the unique index: every allowed character sorts below "{".
    rows = await conn.fetch_all(
        f"SELECT {USER_COLUMNS} FROM users WHERE username_key >= ? AND username_key < ? AND id <> ?"
        " ORDER BY username_key LIMIT ?",
        (prefix_key, prefix_key + "{", exclude_id, limit),
    )
    return [User(*row) for row in rows]


async def session(conn: RawConnection, session_id: str) -> tuple[int, int, int | None] | None:
    """(user id, expires at, revoked at) of a session."""
    return await conn.fetch_one("SELECT user_id, expires_at, revoked_at FROM sessions WHERE id = ?", (session_id,))


# A message the user deleted for themselves only (store/hidden.py) is left out of what they read.
NOT_HIDDEN = "NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.user_id = ? AND h.message_id = messages.id)"


async def chats_and_unread(
    conn: RawConnection, user_id: int, limit: int
) -> tuple[list[tuple[User, Message, int, int | None]], set[int]]:
    """(peer, last message, unread count, first unread id) per chat, most recent first (the `limit` newest
    and every pinned one), and the ids of those last messages the user has hidden: three queries, one trip."""
    chats, unread, hidden = await conn.fetch_several(
        [
            (
                # the `limit` most recent chats, and the pinned ones (at most 10) however old
                f"SELECT {_USER_U}, {_MESSAGE_M} FROM chats c"
                " JOIN messages m ON m.id = c.last_message_id JOIN users u ON u.id = c.peer_id"
                " WHERE c.user_id = ? AND (c.last_message_id >= COALESCE((SELECT last_message_id FROM chats"
                " WHERE user_id = ? ORDER BY last_message_id DESC LIMIT 1 OFFSET ?), 0)"
                " OR c.peer_id IN (SELECT peer_id FROM chat_settings WHERE user_id = ? AND pinned_at IS NOT NULL))"
                " ORDER BY c.last_message_id DESC",
                (user_id, user_id, limit - 1, user_id),
            ),
            (
                "SELECT sender_id, COUNT(*), MIN(id) FROM messages WHERE recipient_id = ? AND status < ?"
                f" AND deleted = 0 AND {NOT_HIDDEN} AND withheld = 0 GROUP BY sender_id",
                (user_id, Status.READ, user_id),
            ),
            (
                "SELECT h.message_id FROM hidden_messages h JOIN chats c"
                " ON c.user_id = h.user_id AND c.last_message_id = h.message_id WHERE h.user_id = ?",
                (user_id,),
            ),
        ]
    )
    unread_by_peer = {sender_id: (count, first) for sender_id, count, first in unread}
    rows = [
        (User(*row[:_USER_WIDTH]), Message(*row[_USER_WIDTH:]), *unread_by_peer.get(row[0], (0, None))) for row in chats
    ]
    return rows, {row[0] for row in hidden}


async def chat_partners(conn: RawConnection, user_id: int) -> list[tuple[int, str]]:
    """(id, username) of the user and of everyone they have a chat with: one trip."""
    own, peers = await conn.fetch_several(
        [
            ("SELECT id, username FROM users WHERE id = ?", (user_id,)),
            ("SELECT u.id, u.username FROM chats c JOIN users u ON u.id = c.peer_id WHERE c.user_id = ?", (user_id,)),
        ]
    )
    return [*own, *peers]


async def user_and_last_seq(conn: RawConnection, user_id: int) -> tuple[User | None, int]:
    """The user's row and the end of their update stream: one trip."""
    user, seq = await conn.fetch_several(
        [
            (f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)),
            ("SELECT MAX(seq) FROM updates WHERE user_id = ?", (user_id,)),
        ]
    )
    return (User(*user[0]) if user else None), (seq[0][0] if seq else None) or 0


async def history(conn: RawConnection, user_id: int, peer_id: int, before: int, limit: int) -> list[Message]:
    """Up to `limit` messages of the chat with ids below `before`, newest first, none the user hid."""
    one_side = (
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND recipient_id = ? AND id < ? AND {NOT_HIDDEN}"
    )
    if user_id == peer_id:
        rows = await conn.fetch_all(f"{one_side} ORDER BY id DESC LIMIT ?", (user_id, user_id, before, user_id, limit))
    else:
        rows = await conn.fetch_all(
            f"SELECT * FROM ({one_side} ORDER BY id DESC LIMIT ?) AS mine"
            f" UNION ALL SELECT * FROM ({one_side} AND withheld = 0 ORDER BY id DESC LIMIT ?) AS theirs"
            " ORDER BY id DESC LIMIT ?",
            (user_id, peer_id, before, user_id, limit, peer_id, user_id, before, user_id, limit, limit),
        )
    return [Message(*row) for row in rows]


async def history_after(
    conn: RawConnection, user_id: int, peer_id: int, after: int, before: int, limit: int
) -> list[Message]:
    """Up to `limit` messages of the chat with after < id < before, oldest first, none the user hid."""
    one_side = (
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE sender_id = ? AND recipient_id = ? AND id > ? AND id < ?"
        f" AND {NOT_HIDDEN}"
    )
    if user_id == peer_id:
        rows = await conn.fetch_all(
            f"{one_side} ORDER BY id LIMIT ?", (user_id, user_id, after, before, user_id, limit)
        )
    else:
        rows = await conn.fetch_all(
            f"SELECT * FROM ({one_side} ORDER BY id LIMIT ?) AS mine"
            f" UNION ALL SELECT * FROM ({one_side} AND withheld = 0 ORDER BY id LIMIT ?) AS theirs"
            " ORDER BY id LIMIT ?",
            (user_id, peer_id, after, before, user_id, limit, peer_id, user_id, after, before, user_id, limit, limit),
        )
    return [Message(*row) for row in rows]


async def pinned(conn: RawConnection, user_id: int, peer_id: int) -> list[Message]:
    """The chat's pinned messages, newest pin first, none the user hid or was never given."""
    rows = await conn.fetch_all(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE ((sender_id = ? AND recipient_id = ?)"
        " OR (sender_id = ? AND recipient_id = ? AND withheld = 0))"
        f" AND pinned_at IS NOT NULL AND deleted = 0 AND {NOT_HIDDEN} ORDER BY pinned_at DESC LIMIT 50",
        (user_id, peer_id, peer_id, user_id, user_id),
    )
    return [Message(*row) for row in rows]


async def message(conn: RawConnection, message_id: int) -> Message | None:
    row = await conn.fetch_one(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?", (message_id,))
    return Message(*row) if row else None


async def updates_between(conn: RawConnection, user_id: int, after: int, up_to: int, limit: int) -> list[Update]:
    """The user's updates with after < seq <= up_to, in seq order, each with its message as it is now."""
    rows = await conn.fetch_all(
        f"SELECT u.seq, u.kind, u.message_id, u.peer_id, {_MESSAGE_M} FROM updates u"
        f" LEFT JOIN messages m ON m.id = u.message_id AND u.kind IN ({_MESSAGE_KIND_LIST})"
        " WHERE u.user_id = ? AND u.seq > ? AND u.seq <= ? ORDER BY u.seq LIMIT ?",
        (user_id, after, up_to, limit),
    )
    return [
        Update(user_id, row[0], row[1], row[2], row[3], Message(*row[4:]) if row[4] is not None else None)
        for row in rows
    ]


async def last_seq(conn: RawConnection, user_id: int) -> int:
    return await conn.fetch_value("SELECT MAX(seq) FROM updates WHERE user_id = ?", (user_id,)) or 0
