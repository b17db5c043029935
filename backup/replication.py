"""What the server runs while Litestream streams its database: a worker thread that sends every
finished file (and the generated keys) to the bucket once, and a watch on how far the replica
is behind. Started by the app's lifespan when BACKUP_REPLICA_URL is set.

The uploader is resumable: at start it lists what the bucket already holds and sends only the
rest, then takes each file as the blob store finishes it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from backup.bucket import KEY_FILES, KEYS, Bucket
from backup.litestream import read_position
from backup.settings import BackupSettings

log = logging.getLogger("payambar.backup")

RETRY_SECONDS = (1, 2, 5, 10, 30, 60)
SNAPSHOT_CHECK_SECONDS = 60
LAG_LOG_SECONDS = 60


class Replication:
    def __init__(self, settings: BackupSettings, blobs_dir: Path, data_dir: Path) -> None:
        self.settings = settings
        self.blobs_dir = blobs_dir
        self.data_dir = data_dir
        self._finished: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.files_uploaded = 0
        self.files_pending = 0
        self.upload_failures = 0
        self.lag_seconds: float | None = None  # None: no Litestream answers
        self.last_snapshot_at: float | None = None
        self._unreplicated: deque[tuple[float, tuple[int, int]]] = deque()

    # The blob store calls this (from a worker thread) for each file it finishes.
    def file_stored(self, path: Path) -> None:
        self.files_pending += 1
        self._finished.put(path)

    def start(self) -> None:
        for target, name in (
            (self._upload_forever, "payambar-backup-files"),
            (self._watch_forever, "payambar-backup-lag"),
        ):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    async def __aenter__(self) -> Replication:
        self.start()
        return self

    async def __aexit__(self, *exc_info) -> None:
        await asyncio.to_thread(self.close)

    def close(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._finished.put(None)
        for thread in self._threads:
            thread.join(timeout)

    @property
    def behind(self) -> bool:
        return self.lag_seconds is None or self.lag_seconds > self.settings.lag_warning_seconds

    # The files

    def _retrying(self, what: str, action):
        for attempt in range(10**9):
            if self._stopping.is_set():
                return None
            try:
                return action()
            except Exception as error:  # the bucket is away or refuses: keep trying, say so
                self.upload_failures += 1
                wait = RETRY_SECONDS[min(attempt, len(RETRY_SECONDS) - 1)]
                log.warning("backup: %s failed (%s); trying again in %d s", what, error, wait)
                self._stopping.wait(wait)
        return None

    def _upload_forever(self) -> None:
        bucket = self._retrying("connecting to the bucket", lambda: Bucket(self.settings))
        if bucket is None:
            return
        self._retrying("writing the backup marker", bucket.write_marker)
        present = self._retrying("listing the bucket", lambda: bucket.list_names(""))
        if present is None:
            return
        with tempfile.TemporaryDirectory(prefix="payambar-backup-") as scratch:
            self._send_keys(bucket, present, Path(scratch))
            for path in self._stored_files():
                self.files_pending += 1
                self._finished.put(path)
            while not self._stopping.is_set():
                finished = self._finished.get()
                if finished is None:
                    return
                self._send_file(bucket, present, finished, Path(scratch))
                self.files_pending -= 1

    def _stored_files(self) -> list[Path]:
        if not self.blobs_dir.is_dir():
            return []
        return [Path(folder) / name for folder, _, names in os.walk(self.blobs_dir) for name in names]

    def _send_file(self, bucket: Bucket, present: set[str], path: Path, scratch: Path) -> None:
        key = bucket.file_name(path.name)
        if key in present:
            return
        if not path.is_file():
            return  # swept away before its turn

        def send() -> bool:
            bucket.put_encrypted_file(path, key, scratch)
            return True

        sent = self._retrying(f"sending {path.name[:12]}…", send)
        if sent:
            present.add(key)
            self.files_uploaded += 1

    def _send_keys(self, bucket: Bucket, present: set[str], scratch: Path) -> None:
        for name in KEY_FILES:
            source, key = self.data_dir / name, f"{bucket.prefix}{KEYS}{name}.age"
            if source.is_file() and key not in present:
                self._retrying(
                    f"sending {name}", lambda source=source, key=key: bucket.put_encrypted_file(source, key, scratch)
                )
                present.add(key)

    # The database replica

    def _watch_forever(self) -> None:
        bucket = None
        next_snapshot_check = 0.0
        last_logged = 0.0
        while not self._stopping.wait(1.0):
            now = time.time()
            self._measure_lag(now)
            if self.behind and now - last_logged >= LAG_LOG_SECONDS:
                last_logged = now
                if self.lag_seconds is None:
                    log.warning(
                        "backup: no Litestream answers on 127.0.0.1:%d: the database is not being replicated"
                        " (start the server through `python -m payambar replicate`, as the Procfile does)",
                        self.settings.monitor_port,
                    )
                else:
                    log.warning("backup: the database replica is %.0f s behind", self.lag_seconds)
            if now >= next_snapshot_check:
                # Soon again until the first snapshot shows (Litestream writes it just after start).
                next_snapshot_check = now + (SNAPSHOT_CHECK_SECONDS if self.last_snapshot_at else 5)
                try:
                    bucket = bucket or Bucket(self.settings)
                    self.last_snapshot_at = bucket.last_snapshot()
                except Exception as error:  # the bucket is away: the figure stays as it was
                    log.warning("backup: cannot read the last snapshot's time (%s)", error)

    def _measure_lag(self, now: float) -> None:
        """Seconds since the oldest local WAL position the replica does not have yet was first
        seen: 0 when caught up, about a second under steady writes, growing while the bucket
        is away."""
        position = read_position(self.settings.monitor_port)
        if position is None:
            self.lag_seconds = None
            self._unreplicated.clear()
            return
        if self._unreplicated and position.local < self._unreplicated[-1][1]:
            self._unreplicated.clear()  # a new generation (after a restore, or a lost WAL): positions restart
        if not self._unreplicated or self._unreplicated[-1][1] != position.local:
            self._unreplicated.append((now, position.local))
        while self._unreplicated and position.replica is not None and self._unreplicated[0][1] <= position.replica:
            self._unreplicated.popleft()
        self.lag_seconds = now - self._unreplicated[0][0] if self._unreplicated else 0.0
