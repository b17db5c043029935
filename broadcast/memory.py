"""The in-process broadcaster: a map from user id to that user's live subscribers."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from broadcast.subscriber import Subscriber


def _text(payload: dict) -> str:
    return orjson.dumps(payload).decode()


class MemoryBroadcaster:
    def __init__(self) -> None:
        self._subscribers: dict[int, set[Subscriber]] = {}

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        for subscribers in self._subscribers.values():
            for subscriber in subscribers:
                subscriber.close()
        self._subscribers.clear()

    def subscribe(self, subscriber: Subscriber) -> int:
        """Adds a subscriber; returns how many the user now has."""
        subscribers = self._subscribers.setdefault(subscriber.user_id, set())
        subscribers.add(subscriber)
        return len(subscribers)

    def unsubscribe(self, subscriber: Subscriber) -> int:
        """Removes a subscriber; returns how many the user still has."""
        subscribers = self._subscribers.get(subscriber.user_id)
        if not subscribers:
            return 0
        subscribers.discard(subscriber)
        if not subscribers:
            del self._subscribers[subscriber.user_id]
            return 0
        return len(subscribers)

    def publish(self, notices: Iterable) -> None:
        """Delivers committed notices (store.Notice) to every live subscriber of their users."""
        subscribers_of = self._subscribers.get
        for notice in notices:
            subscribers = subscribers_of(notice.user_id)
            if not subscribers:
                continue
            for subscriber in subscribers:
                if subscriber is notice.origin and notice.origin_text is not None:
                    subscriber.deliver(notice.origin_text, notice.seq)
                elif notice.text is not None:
                    subscriber.deliver(notice.text, notice.seq)

    def send(self, user_id: int, payload: dict) -> None:
        """Delivers an event that is not part of the update stream (typing, presence)."""
        subscribers = self._subscribers.get(user_id)
        if not subscribers:
            return
        text = _text(payload)
        for subscriber in subscribers:
            subscriber.deliver(text)

    def is_online(self, user_id: int) -> bool:
        return user_id in self._subscribers

    @property
    def connection_count(self) -> int:
        return sum(len(subscribers) for subscribers in self._subscribers.values())
