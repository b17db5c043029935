"""Who gets a Web Push, and when: a new message for a recipient not looking at that chat, and a
`read` push that clears a chat's notifications once it is read on any device.

The entry points only queue the work and return at once; a few workers read the subscriptions
and send, so a slow or dead push service never delays the delivery of a message.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

import orjson

from counters import Counters
from push.keys import b64url
from push.sender import Sender, Subscription
from store import PushSubscriptions, Status, StoreError, UpdateKind, User, now_ms
from wire.protocol import message_object, user_object

log = logging.getLogger("payambar.push")

WORKERS = 8  # pushes in flight at most
QUEUE_LIMIT = 10_000  # pushes waiting at most; beyond that new ones are dropped (and logged)
PREVIEW_LENGTH = 1000  # characters of the text in a notification; the payload stays far below 4 KB
MESSAGE_TTL = READ_TTL = 24 * 3600  # seconds a push service keeps a push for an offline browser
GONE = (404, 410)  # the push service's word that a subscription no longer exists


def topic(user_id: int, chat: str) -> str:
    """One Topic per chat: a push waiting at the push service is replaced by the chat's next one,
    so an offline browser gets the latest message of a chat, or the read that clears it."""
    return b64url(hashlib.sha256(f"{user_id}:{chat.lower()}".encode()).digest()[:24])


def message_payload(message: dict, sender: dict) -> dict:
    if message.get("envelope") is not None:
        # Sealed end to end: ids only, so the service worker fetches the message and opens it;
        # the push service sees no text, no envelope bytes and no profile.
        return {
            "type": "message",
            "chat": sender["username"],
            "message_id": message["id"],
            "sender": {"username": sender["username"]},
            "encrypted": True,
        }
    text = message.get("text")
    if isinstance(text, str) and len(text) > PREVIEW_LENGTH:
        text = text[: PREVIEW_LENGTH - 1] + "…"
    payload = {
        "type": "message",
        "chat": sender["username"],
        "message_id": message["id"],
        "sender": {
            "username": sender["username"],
            "display_name": sender.get("display_name") or sender["username"],
            "avatar": sender.get("avatar"),
        },
        "text": text or None,
    }
    if message.get("call") is not None:
        payload["call"] = message["call"]  # a missed call: the notification says so
    return payload


def reaction_payload(message: dict, reactor: dict) -> dict | None:
    """A reaction to one of your messages: its emoji in a plaintext chat; in a sealed one ids only
    (the service worker opens the reaction's envelope from the message)."""
    mine = next((each for each in message.get("reactions") or [] if each.get("user") == reactor["username"]), None)
    if mine is None:
        return None  # taken back: nothing to tell
    payload = {"type": "reaction", "chat": reactor["username"], "message_id": message["id"], "sender": reactor}
    if mine.get("envelope") is not None:
        return {**payload, "sender": {"username": reactor["username"]}, "encrypted": True}
    return {**payload, "emoji": mine.get("emoji")}


class Dispatcher:
    def __init__(
        self,
        subscriptions: PushSubscriptions,
        sender: Sender,
        is_viewing: Callable[[int, str], Awaitable[bool]],
        profile: Callable[[str], Awaitable[User | None]],
        counters: Counters,
        muted_until: Callable[[int, str], Awaitable[int | None]] | None = None,
    ) -> None:
        self.subscriptions = subscriptions
        self.sender = sender
        self.is_viewing = is_viewing
        self.profile = profile  # a username's public profile, for a sender given by name only
        # The shared counters remember which chats had a message push since their last
        # read, for every instance: the read may come through another instance than the push.
        self.counters = counters
        self.muted_until = muted_until  # (user id, chat) -> until when the user muted the chat, ms
        self._queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._workers: list[asyncio.Task] = []
        self.dropped = 0

    async def __aenter__(self) -> Dispatcher:
        self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work(), name=f"push-{n}") for n in range(WORKERS)]

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await self.sender.close()

    # ---- entry points: never wait -------------------------------------------------------------

    def notify_message(self, recipient_id: int, message: dict, sender: dict) -> None:
        """A new message for the recipient has committed."""
        if message.get("sender") == message.get("recipient"):
            return
        self._put(("message", recipient_id, message, sender))

    def notify_reaction(self, author_id: int, message: dict, reactor: dict) -> None:
        """The other person reacted to a message of the author's (set or changed)."""
        self._put(("reaction", author_id, message, reactor))

    def notify_read(self, user_id: int, chat: str) -> None:
        """The user read the chat with `chat` (a username) on one of their devices."""
        self._put(("read", user_id, chat))

    def notify_call(self, user_id: int, payload: dict, ttl: int, urgency: str, call_id: str) -> None:
        """A call rings (high urgency, kept only while it may ring), or stopped ringing: one Topic
        per call, so the stop replaces a ring the push service still holds."""
        self._put(("call", user_id, orjson.dumps(payload), ttl, urgency, topic(user_id, f"call:{call_id}")))

    def _put(self, job: tuple) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped % 1000 == 1:
                log.warning("push queue full: %d pushes dropped so far", self.dropped)

    # ---- the workers ---------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                if job[0] == "message":
                    await self._message(*job[1:])
                elif job[0] == "call":
                    await self._call(*job[1:])
                elif job[0] == "reaction":
                    await self._reaction(*job[1:])
                else:
                    await self._read(*job[1:])
            except asyncio.CancelledError:
                raise
            except StoreError as error:  # the database away for a moment: one line, no traceback
                log.warning("a push failed: %s", error.code)
            except Exception:
                log.exception("a push failed")

    async def _audience(self, user_id: int, sender: dict) -> tuple[list[Subscription], dict] | None:
        """Where a push about the chat with `sender` goes, and the sender with their public profile
        (display name, avatar URL or null); None when the user views or muted that chat, or has no
        live subscription."""
        chat = sender["username"]
        if await self.is_viewing(user_id, chat) or await self._muted(user_id, chat):
            return None
        subscriptions = await self._live_subscriptions(user_id)
        if not subscriptions:
            return None
        if "display_name" not in sender:
            user = await self.profile(chat)
            if user is not None:
                sender = user_object(user)
        return subscriptions, sender

    async def _message(self, recipient_id: int, message: dict, sender: dict) -> None:
        chat = sender["username"]
        audience = await self._audience(recipient_id, sender)
        if audience is None:
            return
        subscriptions, sender = audience
        payload = orjson.dumps(message_payload(message, sender))
        # Marked before sending: a read that commits while the push is on its way still clears it.
        await self.counters.add(_notified_key(recipient_id, chat), 1, MESSAGE_TTL)
        await self._send(subscriptions, payload, MESSAGE_TTL, "high", topic(recipient_id, chat))

    async def _reaction(self, author_id: int, message: dict, reactor: dict) -> None:
        if reaction_payload(message, reactor) is None:
            return  # taken back: nothing to tell, nothing to look up
        audience = await self._audience(author_id, reactor)
        if audience is None:
            return
        subscriptions, reactor = audience
        payload = orjson.dumps(reaction_payload(message, reactor))
        # a Topic of its own: a reaction never replaces a message push the service still holds
        await self._send(
            subscriptions, payload, MESSAGE_TTL, "normal", topic(author_id, f"reaction:{reactor['username']}")
        )

    async def _muted(self, user_id: int, chat: str) -> bool:
        if self.muted_until is None:
            return False
        until = await self.muted_until(user_id, chat)
        return until is not None and until > now_ms()

    async def _read(self, user_id: int, chat: str) -> None:
        """Only a chat with a message push since its last read has notifications to clear."""
        key = _notified_key(user_id, chat)
        if await self.counters.get(key) <= 0:
            return
        await self.counters.delete(key)
        payload = orjson.dumps({"type": "read", "chat": chat})
        await self._send(await self._live_subscriptions(user_id), payload, READ_TTL, "normal", topic(user_id, chat))

    async def _call(self, user_id: int, payload: bytes, ttl: int, urgency: str, topic_: str) -> None:
        await self._send(await self._live_subscriptions(user_id), payload, ttl, urgency, topic_)

    async def _live_subscriptions(self, user_id: int) -> list[Subscription]:
        """The user's subscriptions whose sessions are live; the others are removed."""
        live_ones = []
        for endpoint, p256dh, auth, live in await self.subscriptions.of_user(user_id):
            if live:
                live_ones.append(Subscription(endpoint, p256dh, auth))
            else:
                await self.subscriptions.remove(endpoint)
        return live_ones

    async def _send(self, subscriptions: list[Subscription], payload: bytes, ttl: int, urgency: str, topic_: str):
        for subscription in subscriptions:
            status = await self.sender.send(subscription, payload, ttl, urgency, topic_)
            if status in GONE:
                await self.subscriptions.remove(subscription.endpoint)
            elif status and not 200 <= status < 300:
                log.info("push service answered %d", status)


def _notified_key(user_id: int, chat: str) -> str:
    return f"notified:{user_id}:{chat.lower()}"


def push_committed(dispatcher: Dispatcher, names: dict[int, str], committed) -> None:
    """Hands the dispatcher, from what the store reports committed, each new message for its
    recipient, each read of a user's own and each reaction of the other person to a message's
    writer (cheap: a kind and two ids are compared)."""
    for change in committed:
        update = change.update
        if update is None:
            continue
        if update.kind == UpdateKind.MESSAGE:
            message = update.message
            seen_call = message.call is not None and message.status >= Status.READ
            if change.user_id == message.recipient_id != message.sender_id and not seen_call:
                sender = {"username": names[message.sender_id]}
                dispatcher.notify_message(change.user_id, message_object(message, names, change.user_id), sender)
        elif update.kind == UpdateKind.READ_BY_SELF:
            dispatcher.notify_read(change.user_id, names[update.peer_id])
        elif update.kind == UpdateKind.REACTION and update.peer_id is not None:
            message = update.message
            # told to the message's writer, when the other person reacted
            if change.user_id == message.sender_id != update.peer_id and message.reactions:
                reactor = {"username": names[update.peer_id]}
                dispatcher.notify_reaction(change.user_id, message_object(message, names, change.user_id), reactor)
