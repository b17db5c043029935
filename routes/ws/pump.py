"""The outbox pump: everything a connection is sent, in order, each update exactly once.

Updates carry their seq. One already sent is skipped; one that jumps past the next expected
seq (notices of two instances can arrive out of order) first has the missing range fetched
from the store, so nothing is skipped either. A resume, or a broadcaster that may have lost
notices, sends what is stored after the last seq sent.
"""

from __future__ import annotations

from routes.protocol import update_frame, without_seq
from routes.ws.connection import Connection
from store.stream import END

PAGE = 1000


async def send_stored(connection: Connection, after: int, up_to: int = END) -> None:
    """Sends the stored updates after `after` and at most `up_to`, page by page."""
    store, transport = connection.store, connection.transport
    while True:
        updates = await store.updates_after(connection.user_id, after, PAGE, up_to)
        for update in updates:
            await transport.send_text(update_frame(update, store.names))
        if updates:
            after = updates[-1].seq
            connection.last_seq = max(connection.last_seq, after)
        if len(updates) < PAGE:
            return


async def pump(connection: Connection) -> int | None:
    """Runs until the connection must end; returns the close code it was kicked with, if any."""
    subscriber, transport = connection.subscriber, connection.transport
    while True:
        if connection.resume_from is not None:
            after, connection.resume_from = connection.resume_from, None
            await send_stored(connection, after)
        if subscriber.catch_up:
            subscriber.catch_up = False
            await send_stored(connection, connection.last_seq)
        frames = await subscriber.next_frames()
        if subscriber.kicked is not None:
            return subscriber.kicked
        if subscriber.overflowed or subscriber.closed:
            return None
        for seq, text, is_ack in frames:
            if seq is None:
                await transport.send_text(text)
                continue
            if seq <= connection.last_seq:
                if is_ack:  # the update went out already (a catch-up): the answer still must
                    await transport.send_text(without_seq(text, seq))
                continue
            if seq > connection.last_seq + 1:
                await send_stored(connection, connection.last_seq, seq - 1)
            await transport.send_text(text)
            connection.last_seq = seq
