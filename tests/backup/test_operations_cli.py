"""python -m payambar status | backup | restore, against real servers and their files."""

from __future__ import annotations

import asyncio
import os
import tarfile

import tus
from checks import close_all, register_many
from conftest import fresh_postgres_database, make_server
from helpers import Api
from operations import Senders, command_env, fields, integrity, on_sqlite, postgres_server, run_command


async def test_status_prints_users_messages_size_and_schema_version(server_factory, tmp_path):
    server = server_factory(tmp_path / "live", **on_sqlite(tmp_path / "live"))
    sara, omid = await register_many(server, 2)
    for number in range(3):
        await sara.send(omid.username, f"m{number}")
    result = await asyncio.to_thread(run_command, command_env(server.data_dir), "status")
    assert result.returncode == 0, result.stderr
    found = fields(result.stdout)
    assert found["users"] == "2"
    assert found["messages"] == "3"
    assert int(found["database size"].split()[0]) > 10_000
    assert int(found["schema version"]) >= 1
    await close_all(sara, omid)


async def test_status_of_a_missing_database_says_so_without_creating_it(tmp_path):
    result = await asyncio.to_thread(run_command, command_env(tmp_path), "status")
    assert result.returncode == 1
    assert "no database" in result.stderr
    assert not (tmp_path / "payambar.db").exists()


async def test_backup_while_sends_stream_in_restores_every_acknowledged_message(server_factory, tmp_path):
    server = server_factory(tmp_path / "live", **on_sqlite(tmp_path / "live"))
    users = await register_many(server, 6)
    pairs = [(users[i], users[(i + 1) % 6]) for i in range(6)]
    document = "".join(f"line {number}: {os.urandom(8).hex()}\n" for number in range(2000)).encode()
    uploaded = await tus.upload(users[0], document, "report.txt")
    await users[0].send(users[1].username, "the report", file_id=uploaded["id"])
    await tus.start(users[0], 10_000, "unfinished.txt")  # an upload still arriving: not backed up
    senders = Senders(pairs).start()
    await senders.until(300)
    before_backup = dict(senders.acknowledged)
    backup_file = tmp_path / "backup.tar.gz"
    result = await asyncio.to_thread(run_command, command_env(server.data_dir), "backup", str(backup_file))
    during_backup = len(senders.acknowledged) - len(before_backup)
    await senders.until(len(senders.acknowledged) + 50)  # still taking sends after the copy
    await senders.stop()
    assert result.returncode == 0, result.stderr
    assert not senders.failures
    in_backup = int(fields(result.stdout)["messages"])
    assert len(before_backup) <= in_backup <= len(senders.acknowledged)
    with tarfile.open(backup_file) as archive:
        names = set(archive.getnames())
    assert {"payambar.db", "backup.json", "secret_key", "vapid_private_key"} <= names
    assert any(name.startswith("files/blobs/") for name in names)
    assert not any(name.startswith(("files/partial", "files/tmp")) for name in names)

    fresh = tmp_path / "fresh"
    restored = await asyncio.to_thread(run_command, command_env(fresh), "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert fields(restored.stdout)["messages"] == str(in_backup)
    assert integrity(fresh / "payambar.db") == "ok"

    again = server_factory(fresh, **on_sqlite(fresh))
    stored: dict[str, dict] = {}
    for sender, recipient in pairs:
        api = Api(again, sender.token, sender.user)  # the key came back too: old tokens work
        before = None
        while True:
            params = {"limit": 100} if before is None else {"limit": 100, "before": before}
            page = (await api.get(f"/api/conversations/{recipient.username}/messages", params=params)).json()
            stored.update({m["client_id"]: m for m in page["messages"] if m["sender"] == sender.username})
            if not page["has_more"]:
                break
            before = page["messages"][0]["id"]
        await api.close()
    assert len(stored) == in_backup
    reader = Api(again, users[1].token, users[1].user)
    assert (await reader.get(f"/api/files/{uploaded['id']}")).content == document, "the file came back"
    await reader.close()
    for client_id, message in before_backup.items():
        assert stored[client_id]["id"] == message["id"]
        assert stored[client_id]["text"] == message["text"]
    print(f"backup while streaming: {len(before_backup)} acknowledged before, {during_backup} during, "
          f"{in_backup} in the backup, 0 lost")  # fmt: skip
    await close_all(*users)


async def test_restore_refuses_while_a_server_holds_the_database(server_factory, tmp_path):
    server = server_factory(tmp_path / "live", **on_sqlite(tmp_path / "live"))
    sara, omid = await register_many(server, 2)
    await sara.send(omid.username, "kept")
    backup_file = tmp_path / "b.tar"
    assert (
        await asyncio.to_thread(run_command, command_env(server.data_dir), "backup", str(backup_file))
    ).returncode == 0
    await sara.send(omid.username, "after the backup")
    result = await asyncio.to_thread(run_command, command_env(server.data_dir), "restore", str(backup_file))
    assert result.returncode == 1
    assert "stop it" in result.stderr
    history = (await sara.get(f"/api/conversations/{omid.username}/messages")).json()["messages"]
    assert [m["text"] for m in history] == ["kept", "after the backup"]
    assert not list(server.data_dir.glob("*.before-restore-*"))
    await close_all(sara, omid)


async def test_restore_of_something_that_is_not_a_backup_changes_nothing(server_factory, tmp_path):
    server = server_factory(tmp_path / "live", **on_sqlite(tmp_path / "live"))
    sara, omid = await register_many(server, 2)
    await sara.send(omid.username, "kept")
    await close_all(sara, omid)
    server.stop()
    bogus = tmp_path / "bogus.tar"
    with tarfile.open(bogus, "w") as archive:
        archive.add(server.data_dir / "secret_key", "secret_key")
    result = await asyncio.to_thread(run_command, command_env(server.data_dir), "restore", str(bogus))
    assert result.returncode == 1
    assert "not a Payambar backup" in result.stderr
    assert integrity(server.data_dir / "payambar.db") == "ok"
    assert not list(server.data_dir.glob("*.before-restore-*"))


async def test_on_postgresql_status_works_and_backup_names_pg_dump(tmp_path):
    database_url = fresh_postgres_database(postgres_server())
    env = command_env(tmp_path, database_url)
    result = await asyncio.to_thread(run_command, env, "status")
    assert result.returncode == 1  # no tables yet: a fresh database that no server has started on
    assert "no Payambar schema" in result.stderr and "Traceback" not in result.stderr
    server = make_server(tmp_path / "pg", DATABASE_URL=database_url).start()
    try:
        sara, omid = await register_many(server, 2)
        await sara.send(omid.username, "on postgres")
        status = await asyncio.to_thread(run_command, env, "status")
        assert status.returncode == 0, status.stderr
        found = fields(status.stdout)
        assert (found["users"], found["messages"]) == ("2", "1")
        assert int(found["database size"].split()[0]) > 1_000_000
        backup = await asyncio.to_thread(run_command, env, "backup", str(tmp_path / "pg.dump"))
        assert backup.returncode == 2
        assert "pg_dump --format=custom" in backup.stdout
        restore = await asyncio.to_thread(run_command, env, "restore", str(tmp_path / "pg.dump"))
        assert restore.returncode == 2
        assert "pg_restore" in restore.stdout
        await close_all(sara, omid)
    finally:
        server.stop()


async def test_restore_of_a_damaged_backup_changes_nothing(server_factory, tmp_path):
    server = server_factory(tmp_path / "live", **on_sqlite(tmp_path / "live"))
    sara, omid = await register_many(server, 2)
    await sara.send(omid.username, "kept")
    await close_all(sara, omid)
    server.stop()
    damaged = tmp_path / "damaged.tar"
    (tmp_path / "payambar.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    with tarfile.open(damaged, "w") as archive:
        archive.add(tmp_path / "payambar.db", "payambar.db")
    result = await asyncio.to_thread(run_command, command_env(server.data_dir), "restore", str(damaged))
    assert result.returncode == 1
    assert "integrity check" in result.stderr and "Traceback" not in result.stderr
    assert integrity(server.data_dir / "payambar.db") == "ok"
    assert not list(server.data_dir.glob("*.before-restore-*"))
