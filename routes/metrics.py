"""GET /metrics: Prometheus text, for operators. Off (404) unless METRICS_TOKEN is set; then the
caller must send it as a Bearer token (401 otherwise). Everything is read at scrape time from
plain counters kept where things happen."""

from __future__ import annotations

import gc
import hmac
import time

from starlette.requests import Request
from starlette.responses import Response

from observe.metrics import COUNTS
from routes.contract import api
from routes.responses import ApiError, rate_limited
from routes.tokens import bearer_token

STARTED = time.time()


def _metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    """One metric in the text format: its HELP and TYPE lines, then (label or suffix, value) samples."""
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"] + [f"{name}{s} {v}" for s, v in samples]


def _batch_histogram(counts: list[int], total: int) -> list[tuple[str, float]]:
    """Bucket i of the writer's counts holds batches of 2**(i-1) to 2**i - 1 changes."""
    samples, cumulative = [], 0
    for index, count in enumerate(counts):
        cumulative += count
        samples.append((f'_bucket{{le="{2**index - 1}"}}', cumulative))
    return samples + [('_bucket{le="+Inf"}', cumulative), ("_sum", total), ("_count", cumulative)]


def render(state) -> str:
    writer, broadcaster = state.store.writer, state.broadcaster
    http = COUNTS.http_responses
    server_errors = sorted(COUNTS.server_errors.items())
    metrics = [
        ("start_time_seconds", "gauge", "When the process started.", [("", STARTED)]),
        ("websocket_connections", "gauge", "Open WebSocket connections.", [("", broadcaster.connection_count)]),
        ("outbox_frames", "gauge", "Frames waiting in connections' outboxes.", [("", broadcaster.outbox_frames)]),
        ("broadcast_queue_depth", "gauge", "Notices waiting to be published.", [("", broadcaster.publish_queue_depth)]),
        ("broadcast_published_total", "counter", "Notices published.", [("", broadcaster.published)]),
        ("websocket_sessions_total", "counter", "WebSocket sessions started.", [("", COUNTS.websocket_sessions)]),
        ("messages_stored_total", "counter", "New messages committed.", [("", writer.messages_stored)]),
        ("writer_batches_total", "counter", "Transactions committed by the writer.", [("", writer.batches)]),
        ("writer_operations_total", "counter", "Changes committed by the writer.", [("", writer.operations)]),
        ("writer_failed_batches_total", "counter", "Failed transactions.", [("", writer.failed_batches)]),
        (
            "writer_batch_size", "histogram", "Changes per transaction.",
            _batch_histogram(writer.batch_sizes, writer.operations),
        ),
        ("writer_queue_depth", "gauge", "Changes waiting for a transaction.", [("", writer.queue_depth)]),
        ("http_responses_total", "counter", "HTTP responses by status class.",
         [(f'{{class="{key}"}}', value) for key, value in http.items()]),
        ("http_server_errors_total", "counter", "HTTP 5xx responses (503 database away, 507 disk full).",
         [(f'{{status="{status}"}}', value) for status, value in server_errors]),
        ("gc_frozen_objects", "gauge", "Objects made at start, left out of garbage collection.",
         [("", gc.get_freeze_count())]),
        ("gc_collections_total", "counter", "Garbage collections by generation.",
         [(f'{{generation="{n}"}}', stats["collections"]) for n, stats in enumerate(gc.get_stats())]),
    ]  # fmt: skip
    lines = [line for name, kind, text, samples in metrics for line in _metric(f"payambar_{name}", kind, text, samples)]
    return "\n".join(lines) + "\n"


@api(
    "Counters for monitoring (Prometheus text); 404 unless METRICS_TOKEN is set",
    {200: ("The counters", {"type": "string"})},
    errors=(401, 404, 429),
    public=True,
    media_type="text/plain",
    description="Send METRICS_TOKEN as a Bearer token.",
)
async def metrics(request: Request) -> Response:
    token = request.app.state.settings.metrics_token
    if not token:
        raise ApiError(404, "not_found", "Not found.")
    failures = request.app.state.login_failures  # wrong tokens count like wrong passwords
    limit_key = ("/metrics", request.client.host if request.client else "")
    wait = await failures.retry_after(limit_key)
    if wait:
        raise rate_limited(wait, "Too many wrong tokens; try again later.")
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        await failures.failed(limit_key)
        raise ApiError(401, "unauthorized", "Metrics need the METRICS_TOKEN.", headers={"WWW-Authenticate": "Bearer"})
    return Response(render(request.app.state), media_type="text/plain; version=0.0.4; charset=utf-8")
