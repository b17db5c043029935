"""The broadcaster: which live connections each user has here, and delivery to them of what is
published anywhere.

Everything crossing the backend is text. A notice is (user id, seq, frame text, origin id,
origin text): the connection whose id is `origin` gets `origin text` (its acknowledgement)
instead of the frame. A control channel carries session revocations to every instance.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
from collections.abc import Callable, Sequence

from broadcast.base import RECONNECTED, Backend
from broadcast.subscriber import Subscriber
from wire.close_codes import LOGGED_OUT

log = logging.getLogger("payambar.broadcast")

CONTROL = "control"
CATCH_UP_SECONDS = 1.0  # after an unconfirmed subscription, when a connection looks in the store

# (user id, seq or None, frame text or None, origin connection id or None, origin text or None)
Notice = tuple[int, int | None, str | None, str | None, str | None]


def user_channel(user_id: int) -> str:
    return f"u:{user_id}"


def encode(seq: int | None, origin: str | None, origin_text: str | None, text: str | None) -> str:
    # Frame texts are compact JSON: they hold no raw newline, so one separates the fields.
    return f"{'' if seq is None else seq}\n{origin or ''}\n{origin_text or ''}\n{text or ''}"


def decode(message: str) -> tuple[int | None, str, str, str]:
    seq, origin, origin_text, text = message.split("\n", 3)
    return (int(seq) if seq else None), origin, origin_text, text


class Broadcaster:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.instance = secrets.token_hex(4)
        self._ids = itertools.count(1)
        self._local: dict[int, set[Subscriber]] = {}
        self._by_session: dict[str, set[Subscriber]] = {}
        self._outgoing: list[tuple[str, str]] = []
        self._outgoing_ready = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._subscribing: dict[int, asyncio.Future] = {}  # user id -> their channel's subscription
        self.on_revoke: Callable[[str], None] | None = None  # told of every revoked session
        # At most this many connections per user and per session on this instance (None: any);
        # past either, the oldest is closed with `crowded_code`.
        self.max_per_user: int | None = None
        self.max_per_session: int | None = None
        self.crowded_code = 4009
        self.published = 0

    @property
    def connection_count(self) -> int:
        return sum(len(subscribers) for subscribers in self._local.values())

    @property
    def queued_frames(self) -> int:
        """Frames waiting in this instance's connections' send queues (for /metrics)."""
        return sum(subscriber.queued for subscribers in self._local.values() for subscriber in subscribers)

    @property
    def publish_queue_depth(self) -> int:
        """Notices waiting to go out to the backend (for /metrics)."""
        return len(self._outgoing)

    async def __aenter__(self) -> Broadcaster:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        await self.backend.connect()
        # Listening first: a subscription is confirmed through the listener.
        self._tasks = [
            asyncio.create_task(self._listen(), name="payambar-broadcast-listen"),
            asyncio.create_task(self._forward(), name="payambar-broadcast-forward"),
        ]
        await self.backend.subscribe(CONTROL)

    async def disconnect(self) -> None:
        await self._flush()
        for task in self._tasks:
            task.cancel()
        for subscribers in self._local.values():
            for subscriber in subscribers:
                subscriber.close()
        self._local.clear()
        await self.backend.disconnect()

    def limit_connections(self, per_user: int, per_session: int, close_code: int) -> None:
        self.max_per_user, self.max_per_session, self.crowded_code = per_user, per_session, close_code

    def new_subscriber(self, user_id: int, session_id: str = "", limit: int | None = None) -> Subscriber:
        number = next(self._ids)
        connection_id = f"{self.instance}.{number}"
        if limit is None:
            subscriber = Subscriber(connection_id, user_id, session_id)
        else:
            subscriber = Subscriber(connection_id, user_id, session_id, limit)
        subscriber.opened = number
        return subscriber

    # ---- connections ----------------------------------------------------------------------

    async def attach(self, subscriber: Subscriber) -> int:
        """Starts delivering to a connection; returns how many the user has everywhere."""
        user_id = subscriber.user_id
        subscribers = self._local.get(user_id)
        if subscribers is None:
            subscribers = self._local[user_id] = set()
            self._subscribing[user_id] = asyncio.ensure_future(self.backend.subscribe(user_channel(user_id)))
        subscribing = self._subscribing.get(user_id)
        subscribers.add(subscriber)
        if subscribing is not None:
            # Every connection of the user waits until the channel holds: only then may it read
            # its cursor, knowing every later notice will reach it.
            confirmed = await asyncio.shield(subscribing)
            if self._subscribing.get(user_id) is subscribing:
                del self._subscribing[user_id]
            if not confirmed:
                asyncio.get_running_loop().call_later(CATCH_UP_SECONDS, subscriber.request_catch_up)
        if subscriber.session_id:
            self._by_session.setdefault(subscriber.session_id, set()).add(subscriber)
            self._close_oldest(self._by_session[subscriber.session_id], self.max_per_session)
        self._close_oldest(subscribers, self.max_per_user)
        try:
            return await self.backend.join(subscriber.user_id)
        except Exception as error:  # presence is best effort while the backend is away
            log.warning("counting a connection failed: %s", error)
            return 1

    def _close_oldest(self, subscribers: set[Subscriber], limit: int | None) -> None:
        """Past the limit the oldest connections go, not the new one: whoever holds the account
        can always connect, and a connection a lost network left open goes first."""
        if limit is None:
            return
        live = [subscriber for subscriber in subscribers if subscriber.kicked is None and not subscriber.closed]
        if len(live) <= limit:
            return
        for oldest in sorted(live, key=lambda subscriber: subscriber.opened)[: len(live) - limit]:
            oldest.kick(self.crowded_code)

    async def detach(self, subscriber: Subscriber) -> int:
        """Stops delivering to a connection; returns how many the user still has everywhere."""
        subscriber.close()
        sessions = self._by_session.get(subscriber.session_id)
        if sessions is not None:
            sessions.discard(subscriber)
            if not sessions:
                del self._by_session[subscriber.session_id]
        subscribers = self._local.get(subscriber.user_id)
        if subscribers is not None and subscriber in subscribers:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._local[subscriber.user_id]
                await self.backend.unsubscribe(user_channel(subscriber.user_id))
            try:
                return await self.backend.leave(subscriber.user_id)
            except Exception as error:
                log.warning("counting a connection out failed: %s", error)
        return 1 if subscriber.user_id in self._local else 0

    async def online(self, user_ids: Sequence[int]) -> set[int]:
        try:
            return await self.backend.online(list(user_ids))
        except Exception as error:
            log.warning("reading presence failed: %s", error)
            return {user_id for user_id in user_ids if user_id in self._local}

    # ---- publishing -----------------------------------------------------------------------

    def publish(self, notices: list[Notice]) -> None:
        """Queues committed notices for every connection of their users, on any instance."""
        self._outgoing.extend(
            (user_channel(user_id), encode(seq, origin, origin_text, text))
            for user_id, seq, text, origin, origin_text in notices
        )
        self._outgoing_ready.set()

    def send(self, user_id: int, text: str) -> None:
        """An event outside the update stream (typing, presence) for the user's connections."""
        self._outgoing.append((user_channel(user_id), encode(None, None, None, text)))
        self._outgoing_ready.set()

    def revoke(self, session_id: str, close_code: int) -> None:
        """Ends a session everywhere: its connections close, cached checks of it are dropped."""
        self._outgoing.append((CONTROL, f"revoke\n{session_id}\n{close_code}"))
        self._outgoing_ready.set()

    async def ping(self) -> bool:
        return await self.backend.ping()

    async def _forward(self) -> None:
        while True:
            await self._outgoing_ready.wait()
            self._outgoing_ready.clear()
            await self._flush()

    async def _flush(self) -> None:
        while self._outgoing:
            messages, self._outgoing = self._outgoing, []
            try:
                await self.backend.publish(messages)
                self.published += len(messages)
            except Exception as error:
                # Lost on the way: the local connections of those users catch up from the store;
                # other instances' connections do when their subscription comes back.
                log.warning("publishing %d notices failed: %s", len(messages), error)
                for channel, _ in messages:
                    if channel.startswith("u:"):
                        for subscriber in self._local.get(int(channel[2:]), ()):
                            subscriber.request_catch_up()

    # ---- receiving ------------------------------------------------------------------------

    async def _listen(self) -> None:
        while True:
            try:
                event = await self.backend.next_published()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the broadcast listener failed; going on")
                await asyncio.sleep(0.5)
                continue
            if event.channel == RECONNECTED:
                await self._resubscribe_all()
            elif event.channel == CONTROL:
                self._control(event.message)
            elif event.channel.startswith("u:"):
                self._dispatch(int(event.channel[2:]), event.message)

    async def _resubscribe_all(self) -> None:
        for subscribers in self._local.values():
            for subscriber in subscribers:
                subscriber.request_catch_up()

    def _dispatch(self, user_id: int, message: str) -> None:
        subscribers = self._local.get(user_id)
        if not subscribers:
            return
        seq, origin, origin_text, text = decode(message)
        for subscriber in subscribers:
            if origin_text and subscriber.id == origin:
                subscriber.deliver(seq, origin_text, True)
            elif text:
                subscriber.deliver(seq, text)

    def _control(self, message: str) -> None:
        command, _, rest = message.partition("\n")
        if command != "revoke":
            return
        session_id, _, code = rest.partition("\n")
        if self.on_revoke is not None:
            self.on_revoke(session_id)
        for subscriber in list(self._by_session.get(session_id, ())):
            subscriber.kick(int(code or LOGGED_OUT))
