"""GET /metrics: Prometheus text, for operators. Off (404) unless METRICS_TOKEN is set; then the
caller must send it as a Bearer token (401 otherwise). Everything is read at scrape time from
plain counters kept where things happen."""

from __future__ import annotations

import gc
import hmac
import time

from starlette.requests import Request
from starlette.responses import Response

from auth.tokens import bearer_token
from observe.metrics import COUNTS
from server.services import services_of
from wire.contract import api
from wire.responses import ApiError, rate_limited

STARTED = time.time()


def _metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    """One metric in the text format: its HELP and TYPE lines, then (label or suffix, value) samples."""
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"] + [f"{name}{s} {v}" for s, v in samples]


def _batch_histogram(counts: list[int], total: int) -> list[tuple[str, float]]:
    """Bucket i of the writer's counts holds batches of 2**(i-1) to 2**i - 1 changes."""
    samples: list[tuple[str, float]] = []
    cumulative = 0
    for index, count in enumerate(counts):
        cumulative += count
        samples.append((f'_bucket{{le="{2**index - 1}"}}', cumulative))
    return samples + [('_bucket{le="+Inf"}', cumulative), ("_sum", total), ("_count", cumulative)]


def _call_metrics(calls) -> list[tuple]:
    tally = calls.tally
    return [
        ("calls_live", "gauge", "Calls ringing or connected.", [("", calls.live_count)]),
        ("calls_started_total", "counter", "Calls started (invites that rang or found the callee busy).",
         [("", tally.started)]),
        ("calls_answered_total", "counter", "Calls answered.", [("", tally.answered)]),
        ("calls_failed_total", "counter", "Calls that broke (network, no connection left).", [("", tally.failed)]),
        ("calls_ended_total", "counter", "Calls ended, by outcome.",
         [(f'{{outcome="{outcome}"}}', count) for outcome, count in sorted(tally.outcomes.items())]),
        ("calls_media_connected_total", "counter", "Answered calls whose media flowed.",
         [("", tally.media_connected)]),
        ("calls_relayed_total", "counter", "Of those, calls relayed through TURN.", [("", tally.relayed)]),
        ("call_setup_seconds", "histogram", "From invite to media flowing.", tally.setup_histogram()),
    ]  # fmt: skip


def render(state) -> str:
    writer, broadcaster = state.store.writer, state.broadcaster
    http = COUNTS.http_responses
    server_errors = sorted(COUNTS.server_errors.items())
    metrics = [
        ("start_time_seconds", "gauge", "When the process started.", [("", STARTED)]),
        ("websocket_connections", "gauge", "Open WebSocket connections.", [("", broadcaster.connection_count)]),
        ("send_queue_frames", "gauge", "Frames waiting in send queues.", [("", broadcaster.queued_frames)]),
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
        *_call_metrics(state.calls),
    ]  # fmt: skip
    metrics += _backup_metrics(state.replication)
    lines = [line for name, kind, text, samples in metrics for line in _metric(f"payambar_{name}", kind, text, samples)]
    return "\n".join(lines) + "\n"


def _backup_metrics(replication) -> list:
    if replication is None:
        return []
    lag = -1 if replication.lag_seconds is None else round(replication.lag_seconds, 3)
    return [
        ("backup_lag_seconds", "gauge", "How far the database replica is behind (-1: not replicating).", [("", lag)]),
        ("backup_last_snapshot_timestamp_seconds", "gauge", "When the replica's last snapshot was written (0: none).",
         [("", replication.last_snapshot_at or 0)]),
        ("backup_files_uploaded_total", "counter", "Files sent to the bucket.", [("", replication.files_uploaded)]),
        ("backup_files_pending", "gauge", "Finished files waiting to be sent.", [("", replication.files_pending)]),
        ("backup_upload_failures_total", "counter", "Failed tries to reach the bucket.",
         [("", replication.upload_failures)]),
    ]  # fmt: skip


@api(
    "Counters for monitoring (Prometheus text); 404 unless METRICS_TOKEN is set",
    {200: ("The counters", {"type": "string"})},
    errors=(401, 404, 429),
    public=True,
    media_type="text/plain",
    description="Send METRICS_TOKEN as a Bearer token.",
)
async def metrics(request: Request) -> Response:
    token = services_of(request).settings.metrics_token
    if not token:
        raise ApiError(404, "not_found", "Not found.")
    failures = services_of(request).limits.metrics_token_failures  # wrong tokens count like wrong passwords
    limit_key = request.client.host if request.client else ""
    wait = await failures.retry_after(limit_key)
    if wait:
        raise rate_limited(wait, "Too many wrong tokens; try again later.")
    given = bearer_token(request) or ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        await failures.hit(limit_key)
        raise ApiError(401, "unauthorized", "Metrics need the METRICS_TOKEN.", headers={"WWW-Authenticate": "Bearer"})
    return Response(render(services_of(request)), media_type="text/plain; version=0.0.4; charset=utf-8")
