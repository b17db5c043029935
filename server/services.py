"""Everything the running app owns, opened in order and closed in reverse: one typed object that
every handler gets from `services_of(request)` instead of loose attributes on the app."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

from starlette.requests import HTTPConnection

from auth.limits import Limits
from backup import Replication
from broadcast import Broadcaster, create_broadcaster
from calls import Calls
from calls.history import recorder
from calls.notify import pusher
from counters import Counters, create_counters
from live import activity
from live.delivery import fan_out
from live.presence import Presence
from media import sweeper
from media.blobs import BlobStore
from media.decoding import Decodes
from previews.fetch import Previews
from push.dispatcher import Dispatcher
from push.sender import Sender
from push.viewing import Viewing
from settings import Settings, sqlite_path
from store import Accounts, FileStore, PushSubscriptions, SchemaTooNew, Store, admin
from wire.close_codes import TOO_MANY_CONNECTIONS

# uvicorn stops (and does not restart workers) when a worker exits with this code.
STARTUP_FAILURE = 3

log = logging.getLogger("payambar")


@dataclass(slots=True)
class Services:
    settings: Settings
    store: Store
    broadcaster: Broadcaster
    counters: Counters
    accounts: Accounts
    files: FileStore
    blobs: BlobStore
    limits: Limits
    presence: Presence
    viewing: Viewing
    push: Dispatcher
    push_subscriptions: PushSubscriptions
    image_decodes: Decodes
    calls: Calls
    previews: Previews
    replication: Replication | None = None  # the off-box backup's uploader and lag watch


def services_of(connection: HTTPConnection) -> Services:
    """The app's services, for a request or a WebSocket."""
    return connection.app.state.services


def refuse_start(reason: str) -> None:
    print(f"payambar: {reason}", file=sys.stderr, flush=True)
    os._exit(STARTUP_FAILURE)


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[Services]:
    """Opens every part; on the way out each is closed in reverse order, every step run even when
    an earlier one raised."""
    async with contextlib.AsyncExitStack() as stack:
        database_file = sqlite_path(settings.database_url)
        if database_file is not None:
            # Held while the server runs, so `python -m payambar restore` refuses to swap the file.
            lock = admin.hold_shared_lock(database_file)
            stack.callback(admin.release, lock)
        broadcaster = create_broadcaster(settings.redis_url)
        try:
            await stack.enter_async_context(broadcaster)
        except Exception as error:
            refuse_start(f"cannot reach REDIS_URL: {error}")
        counters = await stack.enter_async_context(create_counters(settings.redis_url))
        store = Store(
            settings.database_url, synchronous=settings.sqlite_synchronous, max_pages=settings.sqlite_max_pages
        )
        viewing = Viewing(counters)
        subscriptions = store.push_subscriptions
        sender = Sender(
            settings.vapid_private_key, settings.vapid_subject, settings.push_allow_private, settings.push_ca_file
        )
        push = Dispatcher(
            subscriptions,
            sender,
            viewing.is_viewing,
            profile=store.user_by_username,
            counters=counters,
            muted_until=store.muted_until,
        )
        try:
            await stack.enter_async_context(store.opened(on_commit=fan_out(store, broadcaster, push)))
        except SchemaTooNew as error:
            refuse_start(str(error))
        broadcaster.on_revoke = store.forget_session
        broadcaster.limit_connections(settings.ws_per_user, settings.ws_per_session, TOO_MANY_CONNECTIONS)
        accounts = store.accounts
        await accounts.load()
        presence = await stack.enter_async_context(
            Presence(store, broadcaster, audience=partial(activity.presence_audience, accounts))
        )
        files = store.files
        replication = None
        if settings.backup.enabled:
            replication = Replication(settings.backup, settings.media.files_dir / "blobs", settings.data_dir)
            await stack.enter_async_context(replication)
        blobs = BlobStore(settings.media.files_dir, replication.file_stored if replication else None)
        await asyncio.to_thread(blobs.prepare)
        image_decodes = Decodes(settings.media.image_decodes)
        stack.callback(image_decodes.close)
        await stack.enter_async_context(
            sweeper.sweeping(
                files,
                blobs,
                settings.media.sweep_seconds,
                settings.media.upload_expiry_seconds,
                expiries=[store.delete_expired_links],
            )
        )
        await stack.enter_async_context(push)
        await stack.enter_async_context(viewing)
        calls = Calls(
            send=broadcaster.send,
            record=recorder(store),
            push=pusher(push, store.names, settings.calls.ring_timeout),
            names=store.names,
            online=broadcaster.online,
            ring_timeout=settings.calls.ring_timeout,
        )
        calls.start()
        stack.push_async_callback(calls.close)
        previews = Previews(image_decodes.run, settings.link_preview_allow_private, settings.push_ca_file)
        stack.push_async_callback(previews.close)
        yield Services(
            settings=settings,
            store=store,
            broadcaster=broadcaster,
            accounts=accounts,
            files=files,
            blobs=blobs,
            counters=counters,
            limits=Limits.from_settings(settings, counters),
            presence=presence,
            viewing=viewing,
            push=push,
            push_subscriptions=subscriptions,
            image_decodes=image_decodes,
            calls=calls,
            previews=previews,
            replication=replication,
        )
