"""From a commit to the wire: what the store reports as committed is rendered once, by the
protocol module, and handed to the broadcaster for every connection of its users."""

from __future__ import annotations

from collections.abc import Callable

from broadcast import Broadcaster, Notice
from routes.protocol import ack_frame, dumps, message_object, update_frame
from store import Store
from store.rows import Committed


def publisher(store: Store, broadcaster: Broadcaster) -> Callable[[list[Committed]], None]:
    def publish(committed: list[Committed]) -> None:
        names = store.names
        rendered: dict[int, str] = {}  # id(message) -> its JSON: a send's two updates share it

        def message_json(message) -> str:
            text = rendered.get(id(message))
            if text is None:
                text = rendered[id(message)] = dumps(message_object(message, names))
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
                        ack_frame(None, change.ref, message_json(change.message)),
                    )
                )
                continue
            body = message_json(update.message) if update.message is not None else None
            text = update_frame(update, names, body)
            ack = ack_frame(update.seq, change.ref, body) if change.origin is not None and body else None
            notices.append((change.user_id, update.seq, text, change.origin, ack))
        broadcaster.publish(notices)

    return publish
