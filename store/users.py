"""People: accounts, profiles, the username -> id lookup."""

from __future__ import annotations

from store import operations, reads, search
from store.core import StoreCore
from store.rows import User


class UserQueries(StoreCore):
    async def create_user(self, username: str, display_name: str, password_hash: str) -> User:
        user = await self.writer.run(operations.CreateUser(username, display_name, password_hash))
        self._remember_user(user)
        return user

    def _remember_user(self, user: User) -> None:
        self.names[user.id] = user.username
        self._ids[user.username.lower()] = user.id

    async def user_by_username(self, username: str) -> User | None:
        async with self.connections.reader() as conn:
            user = await reads.user_by_key(conn, username.lower())
        if user:
            self._remember_user(user)
        return user

    async def user_by_id(self, user_id: int) -> User | None:
        async with self.connections.reader() as conn:
            return await reads.user_by_id(conn, user_id)

    async def user_id(self, username: str) -> int | None:
        """The id behind a username (any case), from memory once seen."""
        user_id = self._ids.get(username.lower())
        if user_id is None:
            user = await self.user_by_username(username)
            user_id = user.id if user else None
        return user_id

    async def password_hash(self, user_id: int) -> str | None:
        async with self.connections.reader() as conn:
            return await reads.password_hash(conn, user_id)

    async def search_users(self, text: str, exclude_id: int, limit: int, by_username: bool = True) -> list[User]:
        """Usernames starting with the text first, then display names with words starting so."""
        async with self.connections.reader() as conn:
            users = await reads.search_users(conn, text.lower(), exclude_id, limit) if by_username else []
            found = [exclude_id, *(user.id for user in users)]
            return users + await search.users_by_name(conn, text, found, limit - len(users))

    async def update_profile(self, user_id: int, **changes: str) -> None:
        await self.writer.run(operations.UpdateProfile(user_id, changes))

    async def set_last_seen(self, user_id: int, last_seen: int) -> None:
        await self.writer.run(operations.SetLastSeen(user_id, last_seen))

    async def peer_ids(self, user_id: int) -> list[int]:
        """Everyone the user has a chat with; their names (and the user's) are known after."""
        async with self.connections.reader() as conn:
            rows = await reads.chat_partners(conn, user_id)
        for partner_id, username in rows:
            self.names[partner_id] = username
        return [partner_id for partner_id, _ in rows if partner_id != user_id]
