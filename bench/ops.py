"""Operations at scale: backup, restore and the upgrade at start, timed on a large database.

Writes a schema-1 database (as the first release left it) with the loader, then times what an
operator does with it and prints the figures:

    python -m bench.ops --messages 1000000            # the README's figures
    python -m bench.ops --messages 1000000 --gzip     # a compressed backup instead

Everything runs in a temporary folder (or --dir), removed afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from bench.loader_v1 import PASSWORD, copy_to_postgres, load, username
from bench.proc import Server
from payambar.archive import restore_backup, write_backup
from store import Store, admin
from store.migrations import MIGRATIONS


async def _open_and_close(database_file: Path) -> float:
    """Seconds for the server's store to start on the file (migrations included)."""
    started = time.perf_counter()
    store = Store(f"sqlite:///{database_file}")
    await store.open(on_commit=lambda notices: None)
    took = time.perf_counter() - started
    await store.close()
    return took


def backup_under_load(live: Path, target: Path, senders: int = 4) -> dict:
    """Starts the server on the folder (as deployed), keeps `senders` clients sending, and backs up."""
    started = time.perf_counter()
    with Server(live) as server:
        figures = {"server_start_seconds": round(time.perf_counter() - started, 2)}
        login = httpx.post(f"{server.base}/api/auth/login", json={"username": username(1), "password": PASSWORD})
        token = login.json()["token"]
        stop, acknowledged = threading.Event(), [0] * senders

        def keep_sending(index: int) -> None:
            with httpx.Client(base_url=server.base, headers={"authorization": f"Bearer {token}"}) as client:
                while not stop.is_set():
                    body = {"to": username(2 + index), "text": "during the backup", "client_id": uuid.uuid4().hex}
                    if client.post("/api/messages", json=body).status_code in (200, 201):
                        acknowledged[index] += 1

        threads = [threading.Thread(target=keep_sending, args=(i,)) for i in range(senders)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        before = sum(acknowledged)
        started = time.perf_counter()
        written = write_backup(live / "payambar.db", live, target)
        took = time.perf_counter() - started
        during = sum(acknowledged) - before
        stop.set()
        for thread in threads:
            thread.join()
    figures.update(
        {
            "backup_under_load_seconds": round(took, 2),
            "backup_under_load_bytes": written["backup_bytes"],
            "sends_acknowledged_during_backup": during,
            "messages_in_backup": written["messages"],
        }
    )
    return figures


def run(folder: Path, users: int, messages: int, gzip: bool) -> dict:
    live = folder / "live"
    live.mkdir(parents=True)
    database_file = live / "payambar.db"
    loaded = load(database_file, users, messages)
    figures: dict = {"users": users, "messages": messages, "database_bytes": database_file.stat().st_size}
    figures["load_seconds"] = round(loaded["seconds"], 1)

    backup_file = folder / ("backup.tar.gz" if gzip else "backup.tar")
    started = time.perf_counter()
    written = write_backup(database_file, live, backup_file)
    figures["backup_seconds"] = round(time.perf_counter() - started, 2)
    figures["backup_copy_seconds"] = round(written["copy_seconds"], 2)
    figures["backup_bytes"] = written["backup_bytes"]

    fresh = folder / "restored"
    started = time.perf_counter()
    restored = restore_backup(backup_file, fresh / "payambar.db", fresh)
    figures["restore_seconds"] = round(time.perf_counter() - started, 2)  # integrity check included
    assert restored["messages"] == messages, restored

    started = time.perf_counter()
    figures["integrity_check"] = admin.integrity_check(fresh / "payambar.db")
    figures["integrity_check_seconds"] = round(time.perf_counter() - started, 2)

    figures["schema_from"] = 1
    figures["schema_to"] = MIGRATIONS[-1][0]
    figures["upgrade_at_start_seconds"] = round(asyncio.run(_open_and_close(fresh / "payambar.db")), 2)
    after = admin.file_status(fresh / "payambar.db")
    assert (after.users, after.messages, after.schema_version) == (users, messages, MIGRATIONS[-1][0]), after
    figures["messages_after_upgrade"] = after.messages
    figures.update(backup_under_load(fresh, folder / ("live-backup.tar.gz" if gzip else "live-backup.tar")))
    return figures


async def upgrade_on_postgres(database_file: Path, server_url: str) -> dict:
    """Copies the schema-1 database into a fresh PostgreSQL database and times the upgrade at start."""
    name = f"payambar_ops_bench_{uuid.uuid4().hex[:8]}"
    admin_connection = await asyncpg.connect(f"{server_url.rstrip('/')}/postgres")
    await admin_connection.execute(f"CREATE DATABASE {name}")
    database_url = f"{server_url.rstrip('/')}/{name}"
    try:
        copied = await copy_to_postgres(database_file, database_url)
        started = time.perf_counter()
        store = Store(database_url)
        await store.open(on_commit=lambda notices: None)
        took = time.perf_counter() - started
        await store.close()
        return {
            "postgres_copy_seconds": round(copied["seconds"], 1),
            "postgres_upgrade_at_start_seconds": round(took, 2),
        }
    finally:
        await admin_connection.execute(f"DROP DATABASE {name}")
        await admin_connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--gzip", action="store_true", help="write a .tar.gz backup")
    parser.add_argument("--dir", type=Path, help="work here instead of a temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--postgres", help="also time the upgrade on this PostgreSQL server (URL without a database)")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="payambar-ops-bench-"))
    try:
        figures = run(folder, args.users, args.messages, args.gzip)
        if args.postgres:
            figures.update(asyncio.run(upgrade_on_postgres(folder / "live" / "payambar.db", args.postgres)))
        print(json.dumps(figures, indent=1))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
