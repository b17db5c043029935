"""Payambar: the application, wired from settings. Routes, middleware, and what the app owns."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import sys

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute

from broadcast import create_broadcaster
from media import sweeper
from media.blobs import BlobStore
from observe import logs
from observe.access_log import AccessLog
from push.dispatcher import Dispatcher, push_committed
from push.sender import Sender
from push.viewing import Viewing
from routes import (
    account,
    auth,
    avatars,
    errors,
    files,
    health,
    messages,
    metrics,
    openapi,
    pages,
    updates,
    uploads,
    users,
    ws_guard,
)
from routes import push as push_routes
from routes import search as search_routes
from routes.contract import one_route_per_path
from routes.delivery import publisher
from routes.graceful import GracefulRestart, drain_before_sigterm
from routes.headers import SecurityHeaders
from routes.presence import Presence
from routes.ratelimit import FailureLimiter, Limits
from routes.ws import WebSocketEndpoint
from settings import Settings, SettingsError, load_settings, sqlite_path
from store import Store, admin
from store.accounts import Accounts
from store.files import FileStore
from store.migrations import SchemaTooNew
from store.push import Subscriptions

# uvicorn stops (and does not restart workers) when a worker exits with this code.
STARTUP_FAILURE = 3

API_ROUTES = [
    Route("/openapi.json", openapi.document),
    Route("/auth/register", auth.register, methods=["POST"]),
    Route("/auth/login", auth.login, methods=["POST"]),
    Route("/auth/refresh", auth.refresh, methods=["POST"]),
    Route("/auth/logout", auth.logout, methods=["POST"]),
    Route("/me", auth.me, methods=["GET"]),
    Route("/me", auth.update_me, methods=["PATCH"]),
    Route("/me/password", auth.change_password, methods=["POST"]),
    Route("/users", users.search),
    Route("/users/{username}", users.profile),
    Route("/conversations", messages.conversations),
    Route("/conversations/{username}/messages", messages.history),
    Route("/conversations/{username}/read", messages.mark_read, methods=["POST"]),
    Route("/messages", messages.send, methods=["POST"]),
    Route("/messages/{message_id}", messages.edit, methods=["PATCH"]),
    Route("/messages/{message_id}", messages.delete, methods=["DELETE"]),
    Route("/updates", updates.long_poll),
    # Search and push notifications
    Route("/search", search_routes.search),
    Route("/push/key", push_routes.public_key),
    Route("/push/subscriptions", push_routes.subscribe, methods=["POST"]),
    Route("/push/subscriptions", push_routes.unsubscribe, methods=["DELETE"]),
    # Media: tus uploads, downloads (issue 9)
    Route("/uploads", uploads.create, methods=["POST"]),
    Route("/uploads", uploads.options, methods=["OPTIONS"]),
    Route("/uploads/{upload_id}", uploads.head, methods=["HEAD"]),
    Route("/uploads/{upload_id}", uploads.append, methods=["PATCH"]),
    Route("/uploads/{upload_id}", uploads.terminate, methods=["DELETE"]),
    Route("/uploads/{upload_id}", uploads.options, methods=["OPTIONS"]),
    Route("/files/{file_id}", files.download),
    Route("/files/{file_id}/info", files.info),
    Route("/files/{file_id}/thumbnail", files.thumbnail),
    Route("/me/avatar", avatars.set_avatar, methods=["PUT"]),
    Route("/me/avatar", avatars.delete_avatar, methods=["DELETE"]),
    Route("/users/{username}/avatar", avatars.serve),
    # The account's own controls (routes/account.py)
    Route("/me", account.delete_account, methods=["DELETE"]),
    Route("/me/sessions", account.sessions),
    Route("/me/sessions/{session_id}", account.end_session, methods=["DELETE"]),
    Route("/me/tokens", account.tokens, methods=["GET"]),
    Route("/me/tokens", account.create_token, methods=["POST"]),
    Route("/me/tokens/{token_id}", account.revoke_token, methods=["DELETE"]),
    Route("/me/blocked", account.blocked),
    Route("/users/{username}/block", account.block, methods=["POST"]),
    Route("/users/{username}/block", account.unblock, methods=["DELETE"]),
]

ROUTES = [
    Route("/health", health.health),
    Route("/metrics", metrics.metrics),
    Mount("/api", routes=one_route_per_path(API_ROUTES)),  # anything else under /api/ is a JSON 404
    WebSocketRoute("/ws", WebSocketEndpoint()),
    Route("/ws", openapi.websocket_over_http),  # a plain HTTP request there
    Route("/u/{username}", pages.profile_page),
]


# Below this many open files the server says, at start, how many connections it can hold.
ENOUGH_DESCRIPTORS = 65_536


def _raise_descriptor_limit() -> None:
    """Every connection is a descriptor: take the most the system allows, and say in one line
    when that caps the connections this process can hold."""
    log = logging.getLogger("payambar")
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError) as error:
        log.warning("cannot raise the open-files limit (%s): connections are capped by it", error)
        return
    if hard != resource.RLIM_INFINITY and hard < ENOUGH_DESCRIPTORS:
        log.info(
            "open-files limit %d (the hard limit): at most about %d connections; raise it with"
            " `ulimit -Hn`, systemd's LimitNOFILE or docker's --ulimit nofile to hold more",
            hard,
            hard - 100,
        )


def _refuse_start(reason: str) -> None:
    print(f"payambar: {reason}", file=sys.stderr, flush=True)
    os._exit(STARTUP_FAILURE)


# Objects allocated and still alive before the first collection of the youngest generation.
# Python's 700 collects every few messages; most of what a message makes dies by reference
# counting long before 10 000, and fewer survivors reach the older generations.
GC_FIRST_GENERATION = 10_000


def _settle_garbage_collector() -> None:
    """What exists once the app has started (modules, routes, the store) lives as long as the
    process: frozen, the collector never walks it again. A full walk of it took 40–120 ms here,
    a pause that every message waiting at that moment shared (the steady load's p99)."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION, middle, oldest)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    _raise_descriptor_limit()
    database_file = sqlite_path(settings.database_url)
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        state = app.state
        # Held while the server runs, so `python -m payambar restore` refuses to swap the file.
        database_lock = admin.hold_shared_lock(database_file) if database_file is not None else None
        state.broadcaster = create_broadcaster(settings.redis_url)
        try:
            await state.broadcaster.connect()
        except Exception as error:
            _refuse_start(f"cannot reach REDIS_URL: {error}")
        state.store = Store(
            settings.database_url, synchronous=settings.sqlite_synchronous, max_pages=settings.sqlite_max_pages
        )
        state.viewing = Viewing(state.broadcaster.backend)
        state.push_subscriptions = Subscriptions(state.store)
        state.push = Dispatcher(
            state.push_subscriptions,
            Sender(
                settings.vapid_private_key, settings.vapid_subject, settings.push_allow_private, settings.push_ca_file
            ),
            state.viewing.is_viewing,
            profile=state.store.user_by_username,
            backend=state.broadcaster.backend,
        )
        publish = publisher(state.store, state.broadcaster)

        def on_commit(committed) -> None:
            publish(committed)
            push_committed(state.push, state.store.names, committed)

        try:
            await state.store.open(on_commit=on_commit)
        except SchemaTooNew as error:
            _refuse_start(str(error))
        state.broadcaster.on_revoke = state.store.forget_session
        state.presence = Presence(state.store, state.broadcaster)
        state.files = FileStore(state.store)
        state.blobs = BlobStore(settings.media.files_dir)
        await asyncio.to_thread(state.blobs.prepare)
        sweeping = asyncio.create_task(
            sweeper.sweep_forever(
                state.files, state.blobs, settings.media.sweep_seconds, settings.media.upload_expiry_seconds
            ),
            name="payambar-sweeper",
        )
        state.login_failures = FailureLimiter(state.broadcaster.backend)  # wrong metrics tokens
        state.limits = Limits.from_settings(settings, state.broadcaster.backend)
        state.accounts = Accounts(state.store)
        await state.accounts.load()
        state.presence.audience = lambda user_id, peer_ids: ws_guard.presence_audience(state, user_id, peer_ids)
        state.push.start()
        state.viewing.start()
        drain_before_sigterm(state.graceful_restart)
        _settle_garbage_collector()
        try:
            yield
        finally:
            sweeping.cancel()
            await state.viewing.close()
            await state.push.close()
            await state.presence.close()
            await state.store.close()
            await state.broadcaster.disconnect()
            if database_lock is not None:
                admin.release(database_lock)

    middleware = [Middleware(AccessLog), Middleware(GracefulRestart), Middleware(SecurityHeaders)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD"],
                allow_headers=["authorization", "content-type", *uploads.TUS_REQUEST_HEADERS],
                expose_headers=uploads.TUS_RESPONSE_HEADERS,
                max_age=600,
            )
        )
    app = Starlette(
        routes=[*ROUTES, Mount("/", pages.public_files())],
        middleware=middleware,
        exception_handlers=errors.HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def _configure_logging() -> None:
    logs.configure(os.environ.get("LOG_LEVEL", "info"), os.environ.get("LOG_FORMAT", "plain").strip().lower())


def __getattr__(name: str):
    # `uvicorn app:app` asks for the module attribute: build it then, from the environment.
    if name != "app":
        raise AttributeError(name)
    _configure_logging()
    try:
        application = create_app()
    except SettingsError as error:
        print(f"payambar: configuration error: {error}", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from None
    globals()["app"] = application
    return application
