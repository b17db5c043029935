"""Continuous backup off the box (backup/): Litestream streams the database to a real
S3-compatible server on loopback while the server sends every finished file; the box dies
(SIGKILL, data folder deleted); `python -m payambar restore --from s3://…` brings it back."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
import uuid

import httpx
import psutil
import pyrage
import pytest
import tus
from checks import close_all, register_many
from conftest import free_port
from helpers import Api, Socket
from operations import command_env, fields, integrity, on_sqlite, run_command
from procfile import start_procfile_server
from s3_server import BUCKET, S3Server

METRICS_TOKEN = "backup-metrics-token-0123456789"


@pytest.fixture
def s3(tmp_path):
    server = S3Server(tmp_path / "s3").start()
    server.make_bucket()
    yield server
    server.stop()


def document(size: int) -> bytes:
    """A text file of about this size, unlike any other (random bytes are refused as an unknown kind)."""
    return "".join(f"{number}: {os.urandom(16).hex()}\n" for number in range(size // 40)).encode()


def new_key() -> str:
    return str(pyrage.x25519.Identity.generate())


@pytest.fixture
def replicated():
    """Starts servers by the Procfile's line with a bucket set (under Litestream); stops them after."""
    started = []

    def start(data_dir, s3: S3Server, replica: str, key: str, **env: str):
        server = replicated_server(data_dir, s3, replica, key, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def replicated_server(data_dir, s3: S3Server, replica: str, key: str, **env: str):
    return start_procfile_server(
        data_dir,
        **on_sqlite(data_dir),
        **s3.env(),
        BACKUP_REPLICA_URL=replica,
        BACKUP_AGE_KEY=key,
        BACKUP_MONITOR_PORT=str(free_port()),
        METRICS_TOKEN=METRICS_TOKEN,
        **env,
    )


def kill_the_box(server) -> None:
    """SIGKILL to Litestream and the server under it at once: nothing gets to sync or flush."""
    processes = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]
    for process in processes:
        process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    psutil.wait_procs(processes, timeout=10)


def restore_env(data_dir, s3: S3Server, key: str | None) -> dict:
    env = {**command_env(data_dir), **s3.env()}
    env.pop("BACKUP_AGE_KEY", None)
    if key is not None:
        env["BACKUP_AGE_KEY"] = key
    return env


async def backup_metrics(server) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        text = (await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})).text
    return {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("payambar_backup_")
    }


async def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def send_for(pairs, seconds: float) -> dict[str, tuple[float, dict]]:
    """Each sender sends one message at a time for that long; client id -> (acknowledged at, message)."""
    acknowledged: dict[str, tuple[float, dict]] = {}
    stop_at = time.monotonic() + seconds

    async def keep_sending(sender: Api, recipient: Api) -> None:
        number = 0
        while time.monotonic() < stop_at:
            number += 1
            client_id = uuid.uuid4().hex
            body = {"to": recipient.username, "text": f"{sender.username} #{number}", "client_id": client_id}
            response = await sender.post("/api/messages", json=body)
            if response.status_code in (200, 201):
                acknowledged[client_id] = (time.monotonic(), response.json())

    await asyncio.gather(*(keep_sending(sender, recipient) for sender, recipient in pairs))
    return acknowledged


async def every_message(server, pairs) -> dict[str, dict]:
    """client id -> stored message, read page by page over HTTP, for each pair's sender."""
    stored: dict[str, dict] = {}
    for sender, recipient in pairs:
        api = Api(server, sender.token, sender.user)
        before = None
        while True:
            params = {"limit": 100} if before is None else {"limit": 100, "before": before}
            response = await api.get(f"/api/conversations/{recipient.username}/messages", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            stored.update({m["client_id"]: m for m in page["messages"] if m["sender"] == sender.username})
            if not page["has_more"]:
                break
            before = page["messages"][0]["id"]
        await api.close()
    return stored


async def test_a_killed_box_restored_from_the_bucket_has_every_message_older_than_2_s_and_every_file(
    s3, replicated, server_factory, tmp_path
):
    key, replica = new_key(), f"s3://{BUCKET}/payambar"
    live = tmp_path / "live"
    server = replicated(live, s3, replica, key)
    users = await register_many(server, 4)
    reader = users[3]
    pairs = [(users[0], reader), (users[1], reader), (users[2], reader), (reader, users[0])]
    away_phone = await Socket.open(server, reader.token)
    cursor = away_phone.ready["cursor"]
    await away_phone.close()  # the reader's phone goes away with its cursor; it comes back after the restore

    files = {}
    for size in (1_000, 300_000, 2_500_000):
        content = document(size)
        uploaded = await tus.upload(users[0], content, f"f{size}.txt")
        await users[0].send(reader.username, f"file of {size}", file_id=uploaded["id"])
        files[uploaded["id"]] = content

    # Replication lag: from an acknowledged send to a new WAL segment in the bucket.
    wal_before = len(s3.keys(prefix="payambar/db/"))
    sent_at = time.monotonic()
    await users[1].send(reader.username, "how fast does it leave the box")
    await wait_until(
        lambda: asyncio.to_thread(lambda: len(s3.keys(prefix="payambar/db/")) > wal_before), 10, "a WAL segment"
    )
    lag = time.monotonic() - sent_at

    first_burst = await send_for(pairs, 2.0)
    content = document(700_000)
    late_file = await tus.upload(users[1], content, "late.txt")  # finished about 3 s before the kill
    await users[1].send(reader.username, "the late file", file_id=late_file["id"])
    files[late_file["id"]] = content
    second_burst = await send_for(pairs, 3.0)
    killed_at = time.monotonic()
    kill_the_box(server)
    shutil.rmtree(live)
    acknowledged = {**first_burst, **second_burst}
    owed = {client_id: message for client_id, (at, message) in acknowledged.items() if at < killed_at - 2.0}

    fresh = tmp_path / "fresh"
    started = time.monotonic()
    result = await asyncio.to_thread(run_command, restore_env(fresh, s3, key), "restore", "--from", replica)
    restore_seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert int(fields(result.stdout)["files"].split()[0]) >= len(files)
    assert integrity(fresh / "payambar.db") == "ok"
    assert "vapid_private_key" in fields(result.stdout)["keys"] and (fresh / "secret_key").read_text()

    again = server_factory(fresh, **on_sqlite(fresh))
    stored = await every_message(again, pairs)
    lost = [client_id for client_id in owed if client_id not in stored]
    assert not lost, f"{len(lost)} of {len(owed)} messages acknowledged over 2 s before the kill are missing"
    for client_id, message in owed.items():
        assert stored[client_id]["id"] == message["id"] and stored[client_id]["text"] == message["text"]
    downloader = Api(again, reader.token, reader.user)  # the keys came back: old tokens still work
    for file_id, content in files.items():
        response = await downloader.get(f"/api/files/{file_id}")
        assert response.status_code == 200 and response.content == content, f"file {file_id} came back whole"
    await downloader.close()

    phone = await Socket.open(again, reader.token, after=cursor)
    owed_to_reader = phone.ready["cursor"] - cursor
    updates = await phone.collect(owed_to_reader, timeout=10)
    assert [frame["seq"] for frame in updates] == list(range(cursor + 1, phone.ready["cursor"] + 1))
    message_ids = [frame["message"]["id"] for frame in updates if frame["type"] == "message"]
    assert len(message_ids) == len(set(message_ids)), "each message once"
    to_reader = {m["id"] for m in owed.values() if m["recipient"] == reader.username or m["sender"] == reader.username}
    assert to_reader <= set(message_ids)
    assert await phone.quiet(0.5) == []
    await phone.close()
    print(
        f"continuous backup: replication lag {lag:.2f} s (ack to WAL segment in the bucket);"
        f" {len(acknowledged)} acknowledged, {len(owed)} over 2 s before the kill, all {len(owed)} restored"
        f" ({len(stored)} restored in all, {len(acknowledged) - len(stored)} of the last 2 s lost);"
        f" {len(files)} files byte for byte; restore took {restore_seconds:.2f} s; the phone resumed with"
        f" {owed_to_reader} updates once, in order"
    )
    await close_all(*users)


async def test_a_wrong_or_missing_key_restores_nothing_and_says_so_and_the_bucket_holds_no_plaintext(
    s3, replicated, tmp_path
):
    key, replica = new_key(), f"s3://{BUCKET}/sealed"
    server = replicated(tmp_path / "live", s3, replica, key)
    sara, omid = await register_many(server, 2)
    secret_text = f"the meeting is at {uuid.uuid4().hex}"
    await sara.send(omid.username, secret_text)
    content = document(50_000)
    await tus.upload(sara, content, "plans.txt")
    await wait_until(lambda: backup_metrics_settled(server), 15, "the file sent and the replica caught up")
    await close_all(sara, omid)
    server.stop()  # Litestream syncs once more after the server has drained

    client = s3.client()
    stored = b"".join(client.get_object(Bucket=BUCKET, Key=name)["Body"].read() for name in s3.keys(prefix="sealed/"))
    assert len(stored) > 50_000
    for plain in (secret_text.encode(), content[:64], sara.username.encode(), b"SQLite format 3"):
        assert plain not in stored, "nothing leaves the box unencrypted"

    for given, says in ((None, "is encrypted: give its key"), (new_key(), "does not open the backup")):
        target = tmp_path / f"restore-{len(says)}"
        result = await asyncio.to_thread(run_command, restore_env(target, s3, given), "restore", "--from", replica)
        assert result.returncode == 1
        assert says in result.stderr and "nothing restored" in result.stderr and "Traceback" not in result.stderr
        assert not (target / "payambar.db").exists() and not (target / "files").exists()

    target = tmp_path / "with-the-key"
    key_file = tmp_path / "backup.key"
    key_file.write_text(key + "\n")
    result = await asyncio.to_thread(
        run_command, restore_env(target, s3, None), "restore", "--from", replica, "--key", str(key_file)
    )
    assert result.returncode == 0, result.stderr
    assert fields(result.stdout)["files"].startswith("1 ")

    taken = await asyncio.to_thread(run_command, restore_env(target, s3, key), "restore", "--from", replica)
    assert taken.returncode == 1 and "not empty" in taken.stderr, "a restore never writes over a database"


async def backup_metrics_settled(server) -> bool:
    found = await backup_metrics(server)
    return found.get("payambar_backup_files_pending") == 0 and found.get("payambar_backup_lag_seconds") == 0


async def test_status_metrics_and_health_show_the_replica_and_stay_green_while_the_bucket_is_away(
    s3, replicated, tmp_path
):
    key, replica = new_key(), f"s3://{BUCKET}/watched"
    live = tmp_path / "live"
    server = replicated(live, s3, replica, key, BACKUP_LAG_WARNING_SECONDS="2")
    sara, omid = await register_many(server, 2)
    await sara.send(omid.username, "watched")
    await tus.upload(sara, document(20_000), "a.txt")
    await wait_until(lambda: backup_metrics_settled(server), 15, "the replica caught up")
    found = await backup_metrics(server)
    assert found["payambar_backup_files_uploaded_total"] == 1
    assert found["payambar_backup_last_snapshot_timestamp_seconds"] > time.time() - 120

    env = {**command_env(live), **s3.env(), "BACKUP_REPLICA_URL": replica, "BACKUP_AGE_KEY": key}
    env["BACKUP_MONITOR_PORT"] = server.env["BACKUP_MONITOR_PORT"]
    status = fields((await asyncio.to_thread(run_command, env, "status")).stdout)
    assert status["backup replica"] == replica
    assert status["replica lag"].startswith(("0 s", "under")), status
    assert "ago" in status["last snapshot"] and status["files in the bucket"] == "1"

    # Restarted, the uploader finds the file already in the bucket and sends only what is new.
    server.stop()
    server = replicated(live, s3, replica, key, BACKUP_LAG_WARNING_SECONDS="2")
    sara = Api(server, sara.token, sara.user)
    await tus.upload(sara, document(30_000), "b.txt")
    await wait_until(lambda: backup_metrics_settled(server), 15, "the new file sent")
    assert (await backup_metrics(server))["payambar_backup_files_uploaded_total"] == 1
    assert len(s3.keys(prefix="watched/files/")) == 2

    s3.stop()  # the bucket goes away: the messenger goes on, the health check stays green, the log says so
    for number in range(5):
        await sara.send(omid.username, f"while the bucket is away {number}")
        await asyncio.sleep(0.3)
    await wait_until(lambda: _lag_above(server, 2), 20, "the replica to fall behind")
    async with httpx.AsyncClient(base_url=server.url) as client:
        health = await client.get("/health")
    assert health.status_code == 200 and health.json()["backup"] == "behind"
    assert "replica is" in server.log() and "behind" in server.log()
    await close_all(sara, omid)


async def _lag_above(server, seconds: float) -> bool:
    return (await backup_metrics(server)).get("payambar_backup_lag_seconds", 0) > seconds
