"""Payambar: the application, wired from settings. A table of contents: the routes, the
middleware, and the lifespan that opens what the app owns (server/services.py)."""

from __future__ import annotations

import contextlib
import sys

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route, WebSocketRoute

from observe import logs
from observe.access_log import AccessLog
from routes import (
    account,
    auth,
    avatars,
    calls,
    chat_settings,
    files,
    health,
    key_backup,
    key_links,
    keys,
    messages,
    metrics,
    openapi,
    pages,
    previews,
    reactions,
    updates,
    uploads,
    users,
)
from routes import push as push_routes
from routes import search as search_routes
from routes.ws import SocketApp
from server import errors, process
from server.graceful import GracefulRestart, drain_before_sigterm
from server.headers import SecurityHeaders
from server.services import STARTUP_FAILURE, open_services
from settings import Settings, SettingsError, load_settings, sqlite_path, with_kept_keys
from wire.contract import one_route_per_path

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
    Route("/conversations/{username}", chat_settings.change, methods=["PATCH"]),
    Route("/conversations/{username}/messages", messages.history),
    Route("/conversations/{username}/read", messages.mark_read, methods=["POST"]),
    Route("/conversations/{username}/clear", messages.clear, methods=["POST"]),
    Route("/conversations/{username}/pins", reactions.pinned),
    Route("/messages", messages.send, methods=["POST"]),
    Route("/messages/{message_id}", messages.edit, methods=["PATCH"]),
    Route("/messages/{message_id}", messages.delete, methods=["DELETE"]),
    Route("/messages/{message_id}/reaction", reactions.react, methods=["PUT"]),
    Route("/messages/{message_id}/reaction", reactions.unreact, methods=["DELETE"]),
    Route("/messages/{message_id}/pin", reactions.pin, methods=["PUT"]),
    Route("/messages/{message_id}/pin", reactions.unpin, methods=["DELETE"]),
    Route("/link-preview", previews.link_preview, methods=["POST"]),
    Route("/updates", updates.long_poll),
    # Search and push notifications
    Route("/search", search_routes.search),
    Route("/keys/backup", key_backup.read, methods=["GET"]),
    Route("/keys/backup", key_backup.write, methods=["PUT"]),
    Route("/keys/backup", key_backup.delete, methods=["DELETE"]),
    Route("/keys/device-list", keys.publish_device_list, methods=["PUT"]),
    Route("/keys/devices/{device_id}", keys.publish_bundle, methods=["PUT"]),
    Route("/keys/devices/{device_id}", keys.own_device, methods=["GET"]),
    Route("/keys/devices/{device_id}/one-time-prekeys", keys.upload_one_time_prekeys, methods=["POST"]),
    # Linking a new device through the relay (docs/e2ee.md §9)
    Route("/keys/links", key_links.create, methods=["POST"]),
    Route("/keys/links", key_links.pending, methods=["GET"]),
    Route("/keys/links/{link_id}", key_links.read, methods=["GET"]),
    Route("/keys/links/{link_id}", key_links.close, methods=["DELETE"]),
    Route("/keys/links/{link_id}/answer", key_links.answer, methods=["POST"]),
    Route("/keys/links/{link_id}/reveal", key_links.reveal, methods=["POST"]),
    Route("/keys/links/{link_id}/seal", key_links.seal, methods=["POST"]),
    Route("/users/{username}/keys", keys.keys_of_user),
    Route("/users/{username}/keys/{device_id}/claim", keys.claim, methods=["POST"]),
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
    # Voice and video calls (routes/calls.py, docs/calls.md)
    Route("/calls", calls.invite, methods=["POST"]),
    Route("/calls", calls.live, methods=["GET"]),
    Route("/calls/ice-servers", calls.ice_servers),
    Route("/calls/{call_id}", calls.show),
    *[Route(f"/calls/{{call_id}}/{name}", calls.action_route(name), methods=["POST"]) for name in calls.BODIES],
]

ROUTES = [
    Route("/health", health.health),
    Route("/metrics", metrics.metrics),
    Mount("/api", routes=one_route_per_path(API_ROUTES)),  # anything else under /api/ is a JSON 404
    WebSocketRoute("/ws", SocketApp()),
    Route("/ws", openapi.websocket_over_http),  # a plain HTTP request there
    Route("/u/{username}", pages.profile_page),
]


def create_app(settings: Settings | None = None) -> Starlette:
    settings = with_kept_keys(settings or load_settings())
    process.raise_descriptor_limit()
    database_file = sqlite_path(settings.database_url)
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        async with open_services(settings) as services:
            app.state.services = services
            drain_before_sigterm(app.state.graceful_restart)
            process.settle_garbage_collector()
            yield

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
    return app


def __getattr__(name: str):
    # `uvicorn app:app` asks for the module attribute: build it then, from the environment.
    if name != "app":
        raise AttributeError(name)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"payambar: configuration error: {error}", file=sys.stderr)
        raise SystemExit(STARTUP_FAILURE) from None
    logs.configure(settings.log_level, settings.log_format)
    application = create_app(settings)
    globals()["app"] = application
    return application
