"""What every query group of the Store reads: its connections, its writer, and what it remembers
in memory. Each group (`users.py`, `sessions.py`, …) extends this, so each is typed on its own
and the Store is their sum."""

from __future__ import annotations

from collections.abc import Iterable

from store import reads
from store.connection import ConnectionSet
from store.writer import Writer


class StoreCore:
    def __init__(self, url: str, synchronous: str = "normal", readers: int = 2, max_pages: int = 0) -> None:
        self.connections = ConnectionSet(url, readers=readers, synchronous=synchronous, max_pages=max_pages)
        self.names: dict[int, str] = {}  # user id -> username; usernames never change
        self._ids: dict[str, int] = {}  # lower-cased username -> user id
        self._sessions: dict[str, tuple[int, int, float]] = {}
        self._keyed: set[int] = set()  # people known to have keys (that never reverts)
        self._keyless: dict[int, float] = {}  # people found without keys -> until when that is trusted
        self._writer: Writer | None = None

    @property
    def writer(self) -> Writer:
        """The one writer; there is none before `open`."""
        if self._writer is None:
            raise RuntimeError("The store is not open.")
        return self._writer

    @property
    def shared(self) -> bool:
        """Whether other instances may write the same database."""
        return self.connections.dialect.shared

    async def load_names(self, user_ids: Iterable[int]) -> None:
        missing = [u for u in set(user_ids) if u not in self.names]
        if not missing:
            return
        async with self.connections.reader() as conn:
            for user_id, username in await reads.usernames(conn, missing):
                self.names[user_id] = username
