"""The bucket beside Litestream's database replica: every finished file, the generated keys and
a marker, each encrypted with age to the operator's key before it leaves the box.

Layout under the replica's prefix:
    db/                   Litestream's generations (snapshots and WAL segments), age-encrypted
    payambar.json.age     the marker: what this backup is (checked first on restore)
    files/<name>.age      one finished file each; <name> is an HMAC of its SHA-256 under the
                          key's public half, so the bucket's owner cannot tell which known file
                          is there; a restore names each file by the hash of what it decrypts to
    keys/<name>.age       DATA_DIR's generated secret_key and vapid_private_key, when there are any
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

from backup.settings import BackupSettings

MARKER = "payambar.json.age"
FILES = "files/"
KEYS = "keys/"
DATABASE = "db"
KEY_FILES = ("secret_key", "vapid_private_key")


class KeyRefused(Exception):
    """The backup cannot be opened with the key given (or none was given)."""


class Bucket:
    def __init__(self, settings: BackupSettings) -> None:
        import boto3
        import pyrage
        from botocore.config import Config

        self._pyrage = pyrage
        self.settings = settings
        self.name = settings.bucket
        self.prefix = f"{settings.prefix}/" if settings.prefix else ""
        addressing = "path" if settings.force_path_style else "auto"
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.endpoint or None,
            region_name=settings.region,
            aws_access_key_id=settings.access_key_id or None,
            aws_secret_access_key=settings.secret_access_key or None,
            config=Config(
                s3={"addressing_style": addressing},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        )
        self.identity = pyrage.x25519.Identity.from_str(settings.age_key) if settings.age_key else None
        self.recipient = self.identity.to_public() if self.identity else None

    # What is stored, by name

    def file_name(self, sha256: str) -> str:
        mac = hmac.new(str(self.recipient).encode(), sha256.encode(), hashlib.sha256).hexdigest()
        return f"{self.prefix}{FILES}{mac}.age"

    def list_names(self, under: str) -> set[str]:
        names: set[str] = set()
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=self.prefix + under)
        for page in pages:
            names.update(item["Key"] for item in page.get("Contents", []))
        return names

    def last_snapshot(self) -> float | None:
        """When Litestream last wrote a snapshot (seconds since the epoch), or None."""
        newest = None
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=f"{self.prefix}{DATABASE}/generations/"
        )
        for page in pages:
            for item in page.get("Contents", []):
                if "/snapshots/" in item["Key"]:
                    stamp = item["LastModified"].timestamp()
                    newest = stamp if newest is None else max(newest, stamp)
        return newest

    # Writing (the server)

    def put_encrypted_file(self, source: Path, key: str, scratch: Path) -> None:
        """Encrypts `source` into a scratch file and uploads it (multipart when large)."""
        sealed = scratch / f"{source.name}.age"
        try:
            self._pyrage.encrypt_file(str(source), str(sealed), [self.recipient])
            self.client.upload_file(str(sealed), self.name, key)
        finally:
            sealed.unlink(missing_ok=True)

    def put_encrypted_bytes(self, data: bytes, key: str) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=self._pyrage.encrypt(data, [self.recipient]))

    def write_marker(self) -> None:
        marker = {
            "kind": "payambar-backup",
            "format": 1,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        self.put_encrypted_bytes(json.dumps(marker).encode(), self.prefix + MARKER)

    # Reading (a restore)

    def read_marker(self) -> dict:
        """The marker, decrypted: proves the key opens this backup before anything is written."""
        from botocore.exceptions import ClientError

        try:
            sealed = self.client.get_object(Bucket=self.name, Key=self.prefix + MARKER)["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise KeyRefused(f"no Payambar backup at {self.settings.replica_url}") from None
            raise
        if self.identity is None:
            raise KeyRefused("the backup is encrypted: give its key (BACKUP_AGE_KEY or --key FILE)")
        try:
            return json.loads(self._pyrage.decrypt(sealed, [self.identity]))
        except self._pyrage.DecryptError:
            raise KeyRefused("this key does not open the backup (it was encrypted to another key)") from None

    def get_decrypted_file(self, key: str, target: Path, scratch: Path) -> None:
        sealed = scratch / f"{target.name}.age"
        try:
            self.client.download_file(self.name, key, str(sealed))
            self._pyrage.decrypt_file(str(sealed), str(target), [self.identity])
        finally:
            sealed.unlink(missing_ok=True)
