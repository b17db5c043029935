"""Upgrades: a database written by the first release (schema version 1) is migrated in place when
the new release starts, losing nothing; a migration that fails leaves the old schema as it was."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from checks import close_all
from conftest import fresh_postgres_database
from helpers import Api
from operations import command_env, fields, integrity, on_sqlite, postgres_server, run_command

from bench.loader_v1 import PASSWORD, copy_to_postgres, load
from store.connection import ConnectionSet
from store.migrations import MIGRATIONS, migrate, schema_version

USERS, MESSAGES = 300, 30_000
NEWEST = MIGRATIONS[-1][0]
FAILING_STEP = (
    NEWEST + 1,
    [
        "CREATE TABLE upgrade_probe (id INTEGER)",
        "ALTER TABLE messages ADD COLUMN probe INTEGER",
        "SELECT no_such_column FROM messages",  # fails after two changes were made
    ],
)


def _counts(database_file) -> tuple[int, int, int]:
    connection = sqlite3.connect(database_file)
    try:
        return tuple(
            connection.execute(sql).fetchone()[0]
            for sql in ("SELECT COUNT(*) FROM users", "SELECT COUNT(*) FROM messages", "SELECT COUNT(*) FROM updates")
        )
    finally:
        connection.close()


async def test_a_version_1_database_is_migrated_in_place_at_start_losing_nothing(server_factory, tmp_path):
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    database_file = data_dir / "payambar.db"
    written = await asyncio.to_thread(load, database_file, USERS, MESSAGES)
    before = _counts(database_file)
    first, second = written["busiest_pair"]
    a, b = int(first[4:]), int(second[4:])  # loader names are user<id>
    connection = sqlite3.connect(database_file)
    chat_before = connection.execute(
        "SELECT id, text FROM messages WHERE (sender_id, recipient_id) IN ((?, ?), (?, ?)) ORDER BY id", (a, b, b, a)
    ).fetchall()
    connection.close()
    assert len(chat_before) > 100
    assert before == (USERS, MESSAGES, 2 * MESSAGES)

    server = server_factory(data_dir, **on_sqlite(data_dir))
    status = fields((await asyncio.to_thread(run_command, command_env(data_dir), "status")).stdout)
    assert (status["users"], status["messages"], status["schema version"]) == (
        str(USERS), str(MESSAGES), str(NEWEST),
    )  # fmt: skip
    login = await Api(server).post("/api/auth/login", json={"username": first, "password": PASSWORD})
    assert login.status_code == 200, login.text
    sara = Api(server, login.json()["token"], login.json()["user"])
    chats = (await sara.get("/api/conversations")).json()["conversations"]
    assert chats, "the chat list is there after the upgrade"
    page = (await sara.get(f"/api/conversations/{second}/messages", params={"limit": 100})).json()
    assert [(m["id"], m["text"]) for m in page["messages"]] == chat_before[-100:]
    cursor = (await sara.get("/api/updates", params={"after": 0, "timeout": 0, "limit": 1})).json()
    assert cursor["updates"][0]["seq"] == 1
    await close_all(sara)
    server.stop()
    assert _counts(database_file) == before
    assert integrity(database_file) == "ok"
    print(f"\nupgrade at start: {written['messages']} messages from schema 1 to {NEWEST}; lost 0")


async def test_a_version_1_postgresql_database_is_migrated_in_place_at_start(server_factory, tmp_path):
    database_file = tmp_path / "v1.db"
    written = await asyncio.to_thread(load, database_file, USERS, MESSAGES)
    first, second = written["busiest_pair"]
    a, b = int(first[4:]), int(second[4:])
    connection = sqlite3.connect(database_file)
    chat_before = connection.execute(
        "SELECT id, text FROM messages WHERE (sender_id, recipient_id) IN ((?, ?), (?, ?)) ORDER BY id", (a, b, b, a)
    ).fetchall()
    last_seq = connection.execute("SELECT MAX(seq) FROM updates WHERE user_id = ?", (a,)).fetchone()[0]
    connection.close()
    database_url = fresh_postgres_database(postgres_server())
    await copy_to_postgres(database_file, database_url)
    env = command_env(tmp_path, database_url)
    before = fields((await asyncio.to_thread(run_command, env, "status")).stdout)
    assert (before["messages"], before["schema version"]) == (str(MESSAGES), "1")

    server = server_factory(tmp_path / "pg", DATABASE_URL=database_url)
    after = fields((await asyncio.to_thread(run_command, env, "status")).stdout)
    assert (after["users"], after["messages"], after["schema version"]) == (str(USERS), str(MESSAGES), str(NEWEST))
    login = await Api(server).post("/api/auth/login", json={"username": first, "password": PASSWORD})
    assert login.status_code == 200, login.text
    sara = Api(server, login.json()["token"], login.json()["user"])
    page = (await sara.get(f"/api/conversations/{second}/messages", params={"limit": 100})).json()
    assert [(m["id"], m["text"]) for m in page["messages"]] == chat_before[-100:]
    # The upgrade carried the ids and each user's stream on: a new send follows the old ones.
    new = await sara.send(second, "after the upgrade")
    assert new["id"] > max(m_id for m_id, _ in chat_before)
    stream = (await sara.get("/api/updates", params={"after": last_seq, "timeout": 0})).json()
    assert [(u["seq"], u["message"]["id"]) for u in stream["updates"]] == [(last_seq + 1, new["id"])]
    await close_all(sara)
    print(f"\nupgrade at start on PostgreSQL: {MESSAGES} messages from schema 1 to {NEWEST}; lost 0")


async def _failed_migration_leaves_the_schema(database_url: str) -> None:
    connections = ConnectionSet(database_url, readers=0)
    await connections.open()
    conn = connections.writer
    try:
        assert await migrate(conn) == NEWEST
        messages_before = await conn.fetch_value("SELECT COUNT(*) FROM messages")
        with pytest.raises(Exception, match="no_such_column"):
            await migrate(conn, [*MIGRATIONS, FAILING_STEP])
        assert await schema_version(conn) == NEWEST
        assert await conn.fetch_value("SELECT COUNT(*) FROM messages") == messages_before
        with pytest.raises(Exception, match="upgrade_probe"):
            await conn.fetch_all("SELECT * FROM upgrade_probe")
        with pytest.raises(Exception, match="probe"):
            await conn.fetch_all("SELECT probe FROM messages")
        assert await migrate(conn) == NEWEST  # the released steps still start cleanly
    finally:
        await connections.close()


async def test_a_failed_migration_leaves_the_old_sqlite_schema_intact(tmp_path):
    database_file = tmp_path / "payambar.db"
    await asyncio.to_thread(load, database_file, 20, 500)
    await _failed_migration_leaves_the_schema(f"sqlite:///{database_file}")
    assert _counts(database_file)[:2] == (20, 500)
    assert integrity(database_file) == "ok"


async def test_a_failed_migration_leaves_the_old_postgresql_schema_intact():
    await _failed_migration_leaves_the_schema(fresh_postgres_database(postgres_server()))


async def test_migrate_upgrades_a_stopped_database_ahead_of_the_start_and_refuses_a_running_one(
    server_factory, tmp_path
):
    data_dir = tmp_path / "old"
    data_dir.mkdir()
    await asyncio.to_thread(load, data_dir / "payambar.db", 50, 2_000)
    env = command_env(data_dir)
    assert fields((await asyncio.to_thread(run_command, env, "status")).stdout)["schema version"] == "1"
    migrated = await asyncio.to_thread(run_command, env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert fields(migrated.stdout)["schema version"] == str(NEWEST)
    assert fields(migrated.stdout)["messages"] == "2000"
    assert integrity(data_dir / "payambar.db") == "ok"

    server_factory(data_dir, **on_sqlite(data_dir))  # starts at once: nothing left to do
    refused = await asyncio.to_thread(run_command, env, "migrate")
    assert refused.returncode == 1 and "stop it first" in refused.stderr
