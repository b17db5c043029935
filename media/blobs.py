"""Bytes on disk, content-addressed: a file's path is its SHA-256, so the same bytes are stored once.

Layout under the files folder (FILES_DIR, shared by every instance of a deployment):
    blobs/ab/cd/abcd…   finished bytes, named by their hash, never changed once written
    partial/<upload id>  an upload still arriving
    tmp/                 files being made (renamed into blobs/ when complete)
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from collections.abc import Callable
from pathlib import Path

UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{22}")
SHA256 = re.compile(r"[0-9a-f]{64}")
READ_CHUNK = 1 << 20


class BlobStore:
    def __init__(self, root: Path, on_stored: Callable[[Path], None] | None = None) -> None:
        self.root = root
        self.on_stored = on_stored  # told of each new blob (the off-box backup sends it)
        self.blobs = root / "blobs"
        self.partial = root / "partial"
        self.tmp = root / "tmp"

    def prepare(self) -> None:
        for folder in (self.blobs, self.partial, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 name")
        return self.blobs / sha256[:2] / sha256[2:4] / sha256

    def partial_path(self, upload_id: str) -> Path:
        if not UPLOAD_ID.fullmatch(upload_id):
            raise ValueError("not an upload id")
        return self.partial / upload_id

    def temp_path(self) -> Path:
        return self.tmp / secrets.token_hex(12)

    def put_file(self, source: Path) -> tuple[str, int]:
        """Moves a finished file into the store; (its hash, its size). The source is gone after."""
        digest = hashlib.sha256()
        size = 0
        with open(source, "rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        sha256 = digest.hexdigest()
        target = self.path(sha256)
        if target.exists():
            source.unlink()
            os.utime(target)  # used again just now: the sweep leaves recently touched blobs alone
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)  # atomic: a reader sees the whole file or none
            if self.on_stored is not None:
                self.on_stored(target)
        return sha256, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        temp = self.temp_path()
        temp.write_bytes(data)
        return self.put_file(temp)

    def remove_idle(self, sha256: str, untouched_since: float) -> bool:
        """Deletes the blob if nothing wrote it since that time (seconds since the epoch)."""
        path = self.path(sha256)
        try:
            if path.stat().st_mtime >= untouched_since:
                return False
            path.unlink()
        except FileNotFoundError:
            return False
        return True
