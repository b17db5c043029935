"""Which chat each live connection shows right now, as its `viewing` frames say: no push is sent
for a chat while any device of the user is looking at it."""

from __future__ import annotations


class Viewing:
    def __init__(self) -> None:
        self._by_user: dict[int, dict[object, str]] = {}  # user id -> connection -> peer (lower case)

    def set(self, user_id: int, connection: object, peer: str | None) -> None:
        """The connection shows the chat with `peer` now (None: no chat, or not visible)."""
        if peer is None:
            self.forget(user_id, connection)
            return
        self._by_user.setdefault(user_id, {})[connection] = peer.lower()

    def forget(self, user_id: int, connection: object) -> None:
        shown = self._by_user.get(user_id)
        if shown is None:
            return
        shown.pop(connection, None)
        if not shown:
            del self._by_user[user_id]

    def is_viewing(self, user_id: int, peer: str) -> bool:
        shown = self._by_user.get(user_id)
        return bool(shown) and peer.lower() in shown.values()
