"""A restore from the bucket onto an empty data folder: the database as Litestream last streamed
it, every finished file (checked against its SHA-256), and the generated keys.

The key is checked first, on the small marker: a missing or wrong key writes nothing at all.
Everything is assembled in a folder beside the database and moved into place only once whole.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from backup.bucket import FILES, KEY_FILES, KEYS, Bucket, KeyRefused
from backup.litestream import restore_database, write_config
from backup.settings import BackupSettings

DOWNLOADERS = 8
READ_CHUNK = 1 << 20


class RestoreRefused(Exception):
    """The restore cannot go ahead; nothing was written."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _blob_path(blobs: Path, sha256: str) -> Path:
    return blobs / sha256[:2] / sha256[2:4] / sha256


def restore_from_bucket(
    settings: BackupSettings, database_file: Path, data_dir: Path, files_dir: Path, env: dict
) -> dict:
    """Returns the figures of a restore that finished; raises RestoreRefused (nothing written)."""
    started = time.perf_counter()
    database_file = database_file.resolve()
    if database_file.exists() or (files_dir / "blobs").exists():
        raise RestoreRefused(
            f"{database_file.parent} is not empty: a restore from a bucket goes into an empty data folder"
        )
    try:
        bucket = Bucket(settings)
        marker = bucket.read_marker()
    except KeyRefused as refusal:
        raise RestoreRefused(f"{refusal}: nothing restored") from None
    except Exception as error:
        raise RestoreRefused(f"cannot read {settings.replica_url} ({error}): nothing restored") from None
    if marker.get("kind") != "payambar-backup":
        raise RestoreRefused(f"{settings.replica_url} is not a Payambar backup")
    database_file.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=database_file.parent, prefix=".payambar-restore-") as work:
        staging = Path(work)
        config = write_config(settings, database_file, staging / "litestream.json", restoring=True)
        restored = staging / database_file.name
        result = restore_database(config, database_file, restored, {**env, "BACKUP_AGE_KEY": settings.age_key})
        if result.returncode != 0 or not restored.is_file():
            raise RestoreRefused(f"Litestream could not restore the database: {result.stderr.strip()[-400:]}")
        verdict = sqlite3.connect(restored).execute("PRAGMA integrity_check").fetchone()[0]
        if verdict != "ok":
            raise RestoreRefused(f"the restored database fails its integrity check: {verdict}")
        files, file_bytes = _download_files(bucket, staging)
        keys = _download_keys(bucket, staging)
        # Whole now: move it into place (the data folder was empty).
        files_dir.mkdir(parents=True, exist_ok=True)
        shutil.move(staging / "blobs", files_dir / "blobs")
        for name in keys:
            os.replace(staging / name, data_dir / name)
            (data_dir / name).chmod(0o600)
        os.replace(restored, database_file)
    return {
        "files": files,
        "file_bytes": file_bytes,
        "keys": keys,
        "seconds": time.perf_counter() - started,
        "marker": marker,
    }


def _download_files(bucket: Bucket, staging: Path) -> tuple[int, int]:
    blobs, scratch = staging / "blobs", staging / "scratch"
    blobs.mkdir()
    scratch.mkdir()

    def fetch(key: str) -> int:
        plain = scratch / f"{os.urandom(8).hex()}.part"
        bucket.get_decrypted_file(key, plain, scratch)
        sha256 = _sha256(plain)
        if bucket.file_name(sha256) != key:
            raise RestoreRefused(f"{key} does not decrypt to the file it names: the bucket was altered")
        target = _blob_path(blobs, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = plain.stat().st_size
        os.replace(plain, target)
        return size

    keys = sorted(bucket.list_names(FILES))
    with ThreadPoolExecutor(DOWNLOADERS) as pool:
        sizes = list(pool.map(fetch, keys))
    return len(sizes), sum(sizes)


def _download_keys(bucket: Bucket, staging: Path) -> list[str]:
    present = bucket.list_names(KEYS)
    found = []
    for name in KEY_FILES:
        key = f"{bucket.prefix}{KEYS}{name}.age"
        if key in present:
            bucket.get_decrypted_file(key, staging / name, staging)
            found.append(name)
    return found
