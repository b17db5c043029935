"""A backup is one tar file: the database copy, the uploaded files and the generated keys.

    payambar.db         the database, consistent as of one commit (SQLite's backup API)
    files/blobs/        the finished uploaded files (FILES_DIR/blobs); uploads still arriving
                        (partial/, tmp/) are left out: nothing acknowledged refers to them
    secret_key          the generated token key (DATA_DIR/secret_key), when there is one
    vapid_private_key   the generated Web Push key (DATA_DIR/vapid_private_key), when there is one
    backup.json         when it was made, and the counts it holds

A name ending in .gz or .tgz is gzip-compressed.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

from store import admin

DATABASE_MEMBER = "payambar.db"
FILES = "files"
BLOBS = "blobs"
KEYS = ("secret_key", "vapid_private_key")
MANIFEST = "backup.json"


class RestoreRefused(Exception):
    """The restore cannot go ahead; nothing was changed."""


def write_backup(database_file: Path, data_dir: Path, target: Path, files_dir: Path | None = None) -> dict:
    """Writes the backup of a live deployment to `target` (atomically); returns its figures.

    The files are archived after the database is copied: every file a row of the copy refers to
    was already stored, since an upload is finished before a message can carry it.
    """
    files_dir = files_dir or data_dir / FILES
    target = target.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".payambar-backup-") as work:
        copy = Path(work) / DATABASE_MEMBER
        copy_seconds = admin.copy_sqlite(database_file, copy)
        counts = admin.file_status(copy)
        manifest = {
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "users": counts.users,
            "messages": counts.messages,
            "schema_version": counts.schema_version,
            "database_bytes": counts.database_bytes,
        }
        (Path(work) / MANIFEST).write_text(json.dumps(manifest, indent=1))
        partial = Path(work) / "backup.tar"
        # gzip level 6: a quarter of the size, several times faster than the default 9.
        compressed = target.name.endswith((".gz", ".tgz"))
        with tarfile.open(partial, "w:gz", compresslevel=6) if compressed else tarfile.open(partial, "w") as archive:
            archive.add(Path(work) / MANIFEST, MANIFEST)
            archive.add(copy, DATABASE_MEMBER)
            if (files_dir / BLOBS).is_dir():
                archive.add(files_dir / BLOBS, f"{FILES}/{BLOBS}")
            for key in KEYS:
                if (data_dir / key).is_file():
                    archive.add(data_dir / key, key)
        partial.replace(target)
    return {**manifest, "copy_seconds": copy_seconds, "backup_bytes": target.stat().st_size}


def restore_backup(source: Path, database_file: Path, data_dir: Path, files_dir: Path | None = None) -> dict:
    """Replaces the database (and files and keys) with a backup's; refuses while a server runs.

    What is replaced is kept beside it, renamed `….before-restore-<time>`, until an operator
    removes it.
    """
    if not source.is_file():
        raise RestoreRefused(f"no backup at {source}")
    database_file = database_file.resolve()
    files_dir = files_dir or data_dir / FILES
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = admin.try_exclusive_lock(database_file)
    if lock is None:
        raise RestoreRefused(f"a server has {database_file} open: stop it, run restore, then start it again")
    try:
        with tempfile.TemporaryDirectory(dir=database_file.parent, prefix=".payambar-restore-") as work:
            unpacked = Path(work)
            with tarfile.open(source, "r:*") as archive:
                archive.extractall(unpacked, filter="data")
            restored = unpacked / DATABASE_MEMBER
            if not restored.is_file():
                raise RestoreRefused(f"{source} holds no {DATABASE_MEMBER}: not a Payambar backup")
            verdict = admin.integrity_check(restored)
            if verdict != "ok":
                raise RestoreRefused(f"the backup's database fails its integrity check: {verdict}")
            counts = admin.file_status(restored)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            replaced = [Path(f"{database_file}{suffix}") for suffix in ("", "-wal", "-shm")]
            restored_blobs = unpacked / FILES / BLOBS
            if restored_blobs.is_dir():
                replaced.append(files_dir / BLOBS)  # not FILES_DIR itself: it may be a mount point
            replaced += [data_dir / key for key in KEYS if (unpacked / key).is_file()]
            kept = _set_aside(replaced, stamp)
            restored.replace(database_file)
            if restored_blobs.is_dir():
                files_dir.mkdir(parents=True, exist_ok=True)
                shutil.move(restored_blobs, files_dir / BLOBS)
            for key in KEYS:
                if (unpacked / key).is_file():
                    shutil.move(unpacked / key, data_dir / key)
                    (data_dir / key).chmod(0o600)
    finally:
        admin.release(lock)
    return {"users": counts.users, "messages": counts.messages, "schema_version": counts.schema_version, "kept": kept}


def _set_aside(paths: list[Path], stamp: str) -> list[str]:
    """Renames what the restore replaces; returns the new names."""
    kept = []
    for path in paths:
        if path.exists():
            aside = path.with_name(f"{path.name}.before-restore-{stamp}")
            path.rename(aside)
            kept.append(str(aside))
    return kept
