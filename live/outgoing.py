"""Sending: everything a client is sent, in order, each update exactly once.

Updates carry their seq. One already sent is skipped; one that jumps past the next expected
seq (notices of two instances can arrive out of order) first has the missing range fetched
from the store, so nothing is skipped either. A resume, or a broadcaster that may have lost
notices, sends what is stored after the last seq sent.

A client that asked for batches (`"batch": true` in its auth frame) gets the frames that
waited together as one `{"type":"updates","updates":[…]}` frame: under load a message costs
fewer frames, and at one message at a time nothing waits, so nothing changes.
"""

from __future__ import annotations

from live.client import Client
from store import END
from wire.protocol import update_frame, without_seq

PAGE = 1000
MAX_BATCH_FRAMES = 256


class Outgoing:
    """The frames of one round, sent together when the client takes batches."""

    __slots__ = ("client", "texts")

    def __init__(self, client: Client) -> None:
        self.client = client
        self.texts: list[str] = []

    async def flush(self) -> None:
        texts, self.texts = self.texts, []
        transport = self.client.transport
        if not self.client.batch:
            for text in texts:
                await transport.send_text(text)
            return
        for start in range(0, len(texts), MAX_BATCH_FRAMES):
            chunk = texts[start : start + MAX_BATCH_FRAMES]
            if len(chunk) == 1:
                await transport.send_text(chunk[0])
            else:
                await transport.send_text(f'{{"type":"updates","updates":[{",".join(chunk)}]}}')


async def send_stored(client: Client, outgoing: Outgoing, after: int, up_to: int = END) -> None:
    """Adds the stored updates after `after` and at most `up_to`, page by page."""
    store = client.store
    while True:
        updates = await store.updates_after(client.user_id, after, PAGE, up_to)
        outgoing.texts.extend(update_frame(update, store.names) for update in updates)
        if updates:
            after = updates[-1].seq
            client.last_seq = max(client.last_seq, after)
        if len(updates) < PAGE:
            return
        await outgoing.flush()


async def send_out(client: Client) -> int | None:
    """Runs until the client must end; returns the close code it was kicked with, if any."""
    subscriber = client.subscriber
    outgoing = Outgoing(client)
    while True:
        if client.resume_from is not None:
            after, client.resume_from = client.resume_from, None
            await send_stored(client, outgoing, after)
        if subscriber.catch_up:
            subscriber.catch_up = False
            await send_stored(client, outgoing, client.last_seq)
        await outgoing.flush()
        frames = await subscriber.next_frames()
        if subscriber.kicked is not None:
            return subscriber.kicked
        if subscriber.overflowed or subscriber.closed:
            return None
        texts = outgoing.texts
        for seq, text, is_ack in frames:
            if seq is None:
                texts.append(text)
                continue
            if seq <= client.last_seq:
                if is_ack:  # the update went out already (a catch-up): the answer still must
                    texts.append(without_seq(text, seq))
                continue
            if seq > client.last_seq + 1:
                await send_stored(client, outgoing, client.last_seq, seq - 1)
            texts.append(text)
            client.last_seq = seq
        await outgoing.flush()
