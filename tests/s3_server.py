"""A real S3-compatible server on loopback for the backup tests: moto in server mode, in a
process of the test's own (it may be stopped to play a bucket that went away)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
from conftest import free_port

ACCESS_KEY_ID = "payambar-test-key"
SECRET_ACCESS_KEY = "payambar-test-secret"
BUCKET = "payambar-backups"


class S3Server:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "moto.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.endpoint, timeout=0.5)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the S3 server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def make_bucket(self, name: str = BUCKET) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str = BUCKET, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def env(self) -> dict[str, str]:
        """How a server or a restore reaches this bucket (BACKUP_REPLICA_URL and the key apart)."""
        return {
            "BACKUP_S3_ENDPOINT": self.endpoint,
            "BACKUP_S3_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "BACKUP_S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }
