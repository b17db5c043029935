"""From a commit to the wire: what the store reports as committed is rendered once, by the
protocol module, and handed to the broadcaster for every connection of its users."""

from __future__ import annotations

from collections.abc import Callable

from broadcast import Broadcaster, Notice
from push.dispatcher import Dispatcher, push_committed
from store import Committed, Status, Store
from wire.protocol import ack_frame, dumps, message_object, update_frame


def fan_out(store: Store, broadcaster: Broadcaster, push: Dispatcher) -> Callable[[list[Committed]], None]:
    """What runs for every commit: the live frames for every connection, then the pushes."""
    publish = publisher(store, broadcaster)

    def on_commit(committed: list[Committed]) -> None:
        publish(committed)
        push_committed(push, store.names, committed)

    return on_commit


def publisher(store: Store, broadcaster: Broadcaster) -> Callable[[list[Committed]], None]:
    def publish(committed: list[Committed]) -> None:
        names = store.names
        # (id(message), whether the viewer is its recipient) -> its JSON: a send's two updates share
        # it unless a quiet read makes the two sides see different statuses
        rendered: dict[tuple[int, bool], str] = {}

        def message_json(message, viewer: int) -> str:
            key = (id(message), viewer == message.recipient_id and message.status == Status.READ_QUIETLY)
            text = rendered.get(key)
            if text is None:
                text = rendered[key] = dumps(message_object(message, names, viewer))
            return text

        notices: list[Notice] = []
        for change in committed:
            update = change.update
            if update is None:  # a retried send: only the asking connection hears of it
                notices.append(
                    (
                        change.user_id,
                        None,
                        None,
                        change.origin,
                        ack_frame(None, change.ref, message_json(change.message, change.user_id)),
                    )
                )
                continue
            body = message_json(update.message, update.user_id) if update.message is not None else None
            text = update_frame(update, names, body)
            ack = ack_frame(update.seq, change.ref, body) if change.origin is not None and body else None
            notices.append((change.user_id, update.seq, text, change.origin, ack))
        broadcaster.publish(notices)

    return publish
