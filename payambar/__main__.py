"""python -m payambar status | backup FILE | restore FILE | restore --from s3://… | migrate |
replicate -- COMMAND… | backup-key

Reads the same settings as the server (DATABASE_URL, DATA_DIR, BACKUP_*). Exit status: 0 done,
1 refused or failed (a line on stderr says why), 2 nothing done because PostgreSQL's own tools
do it (the commands are printed).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from payambar import continuous
from payambar.archive import RestoreRefused, restore_backup, write_backup
from settings import Settings, SettingsError, load_settings, sqlite_path
from store import ConnectionSet, Store, admin

USE_POSTGRES_TOOLS = 2


def _settings() -> Settings:
    # The commands sign no tokens and send no pushes: the settings as read, no key made.
    return load_settings()


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


async def _status(settings: Settings) -> int:
    database_file = sqlite_path(settings.database_url)
    if database_file is not None and not database_file.exists():
        print(f"payambar: no database at {database_file}", file=sys.stderr)
        return 1
    connections = ConnectionSet(settings.database_url, readers=0)
    await connections.open()
    try:
        found = await admin.status(connections.writer, database_file)
    except Exception as error:  # a database no server has started on yet has no tables
        print(f"payambar: no Payambar schema in this database ({error})", file=sys.stderr)
        return 1
    finally:
        await connections.close()
    print(f"database: {database_file or 'postgresql'}")
    print(f"users: {found.users}")
    print(f"messages: {found.messages}")
    print(f"database size: {found.database_bytes} bytes ({_megabytes(found.database_bytes)})")
    print(f"schema version: {found.schema_version}")
    if settings.backup.enabled:
        await asyncio.to_thread(continuous.print_status, settings.backup)
    return 0


async def _backup(settings: Settings, target: Path) -> int:
    database_file = sqlite_path(settings.database_url)
    if database_file is None:
        print("PostgreSQL is backed up with its own tool, pg_dump:")
        print(f'  pg_dump --format=custom --file "{target}" "$DATABASE_URL"')
        print(f'  tar -C "{settings.media.files_dir}" -czf "{target}.files.tar.gz" blobs')
        print(f'  tar -C "{settings.data_dir}" -czf "{target}.keys.tar.gz" secret_key vapid_private_key')
        return USE_POSTGRES_TOOLS
    if not database_file.exists():
        print(f"payambar: no database at {database_file}", file=sys.stderr)
        return 1
    figures = await asyncio.to_thread(write_backup, database_file, settings.data_dir, target, settings.media.files_dir)
    print(f"backup: {target}")
    print(f"users: {figures['users']}")
    print(f"messages: {figures['messages']}")
    print(f"schema version: {figures['schema_version']}")
    print(f"copied in: {figures['copy_seconds']:.2f} s")
    print(f"backup size: {figures['backup_bytes']} bytes ({_megabytes(figures['backup_bytes'])})")
    return 0


async def _restore(settings: Settings, source: Path) -> int:
    database_file = sqlite_path(settings.database_url)
    if database_file is None:
        print("PostgreSQL is restored with its own tool, pg_restore (stop the server first):")
        print(f'  pg_restore --clean --if-exists --no-owner --dbname "$DATABASE_URL" "{source}"')
        print(f'  tar -C "{settings.media.files_dir}" -xzf "{source}.files.tar.gz"')
        print(f'  tar -C "{settings.data_dir}" -xzf "{source}.keys.tar.gz"')
        return USE_POSTGRES_TOOLS
    try:
        figures = await asyncio.to_thread(
            restore_backup, source, database_file, settings.data_dir, settings.media.files_dir
        )
    except RestoreRefused as refusal:
        print(f"payambar: restore refused: {refusal}", file=sys.stderr)
        return 1
    print(f"restored: {database_file}")
    print(f"users: {figures['users']}")
    print(f"messages: {figures['messages']}")
    print(f"schema version: {figures['schema_version']} (a newer server migrates it at start)")
    for path in figures["kept"]:
        print(f"kept the replaced {path}")
    return 0


async def _migrate(settings: Settings) -> int:
    """Brings the database to this release's schema (and builds what it adds), as a start would."""
    database_file = sqlite_path(settings.database_url)
    lock = None
    if database_file is not None:
        lock = admin.try_exclusive_lock(database_file)
        if lock is None:
            print(f"payambar: a server has {database_file} open: stop it first", file=sys.stderr)
            return 1
    try:
        started = time.perf_counter()
        store = Store(settings.database_url, synchronous=settings.sqlite_synchronous)
        await store.open(on_commit=lambda committed: None)
        found = await admin.status(store.connections.writer, database_file)
        await store.close()
    finally:
        if lock is not None:
            admin.release(lock)
    print(f"schema version: {found.schema_version}")
    print(f"messages: {found.messages}")
    print(f"took: {time.perf_counter() - started:.2f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m payambar", description="Payambar operator commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="users, messages, database size, schema version")
    backup = commands.add_parser("backup", help="an online copy of the database and the data folder's files")
    backup.add_argument("file", type=Path, help="the backup to write (a tar file; .tar.gz to compress)")
    restore = commands.add_parser(
        "restore",
        help="replace the database with a backup (server stopped), or fill an empty data folder from a bucket",
    )
    restore.add_argument("file", type=Path, nargs="?", help="a backup written by `backup`")
    restore.add_argument(
        "--from", dest="replica_url", help="s3://bucket/prefix: the continuous backup (BACKUP_S3_* say how to reach it)"
    )
    restore.add_argument("--key", type=Path, help="a file holding the backup's age key (default: BACKUP_AGE_KEY)")
    replicate = commands.add_parser(
        "replicate", help="run COMMAND (the server) under Litestream when BACKUP_REPLICA_URL is set; else just run it"
    )
    replicate.add_argument("server_command", nargs=argparse.REMAINDER, help="-- uvicorn app:app …")
    commands.add_parser("backup-key", help="print a new age key for BACKUP_AGE_KEY (keep a copy off the box)")
    commands.add_parser("migrate", help="upgrade the database to this release's schema now (server stopped)")
    args = parser.parse_args(argv)
    if args.command == "backup-key":
        return continuous.print_new_key()
    try:
        settings = _settings()
    except SettingsError as error:
        print(f"payambar: configuration error: {error}", file=sys.stderr)
        return 1
    if args.command == "status":
        return asyncio.run(_status(settings))
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "backup":
        return asyncio.run(_backup(settings, args.file))
    if args.command == "replicate":
        return continuous.replicate(settings, args.server_command)
    if args.replica_url:
        return continuous.restore(settings, args.replica_url, args.key)
    if args.file is None:
        parser.error("restore needs a backup FILE or --from s3://…")
    return asyncio.run(_restore(settings, args.file))


if __name__ == "__main__":
    sys.exit(main())
