"""A full disk on SQLite (simulated by capping the file's pages with SQLITE_MAX_PAGES): writes are
refused with 507 storage_full, reads go on, nothing already stored is lost, and writing resumes
once there is room again."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from checks import assert_error, close_all, register_many
from devices import wait_for
from helpers import Api, Socket
from operations import Senders, integrity, on_sqlite
from test_faults_kill import history

MAX_PAGES = 80  # 320 KiB with 4 KiB pages: the schema and a few hundred messages


async def test_a_full_disk_refuses_writes_with_507_and_loses_nothing(server_factory, tmp_path):
    data_dir = tmp_path / "full"
    server = server_factory(data_dir, SQLITE_MAX_PAGES=str(MAX_PAGES), **on_sqlite(data_dir))
    apis = await register_many(server, 4)
    pairs = [(apis[i], apis[(i + 1) % 4]) for i in range(4)]
    senders = Senders(pairs, text_size=1500).start()
    await wait_for(lambda: len(senders.failures) >= 20, 60, "sends refused")
    await senders.stop()
    assert set(senders.failures) == {507}, senders.failures
    acknowledged = dict(senders.acknowledged)

    sara, omid = apis[0], apis[1]
    # A page freed here and there may still take one more small row: keep writing until refused.
    for number in range(50):
        body = {"to": omid.username, "text": "x" * 1500, "client_id": f"full-{number}"}
        refused = await sara.post("/api/messages", json=body)
        if refused.status_code != 201:
            break
        acknowledged[body["client_id"]] = refused.json()
    error = assert_error(refused, 507, "storage_full")
    assert "disk is full" in error["message"]
    socket = await Socket.open(server, sara.token)
    for _ in range(50):
        await socket.send_message(omid.username, "y" * 1500)
        frame = await socket.collect(1)
        if frame[0]["type"] != "ack":
            break
        acknowledged[frame[0]["message"]["client_id"]] = frame[0]["message"]
    assert frame[0]["type"] == "error" and frame[0]["code"] == "storage_full", frame
    await socket.close()
    chats = await sara.get("/api/conversations")  # reading goes on
    assert chats.status_code == 200 and chats.json()["conversations"]
    assert (await sara.get("/health")).status_code == 200

    stored = {}
    for sender, recipient in pairs:
        stored.update({m["client_id"]: m for m in await history(sender, recipient.username)})
    assert set(acknowledged) <= set(stored), "an acknowledged message was lost"
    server.stop()
    assert integrity(server.database_file) == "ok"
    assert "Traceback" not in server.log()

    roomy = server_factory(data_dir, **on_sqlite(data_dir))  # the operator made room
    sara = Api(roomy, sara.token, sara.user)
    after = await sara.send(omid.username, "there is room again")
    assert after["text"] == "there is room again"
    for sender, recipient in pairs:
        chat = {m["client_id"] for m in await history(Api(roomy, sender.token, sender.user), recipient.username)}
        assert {c for c, m in acknowledged.items() if m["sender"] == sender.username} <= chat
    print(
        f"\nfull disk: {len(acknowledged)} acknowledged before the disk filled, {len(senders.failures)} refused"
        " with 507 storage_full; lost 0, integrity ok"
    )
    await close_all(sara, *apis)


@pytest.fixture
def tiny_disk():
    """A 2 MiB filesystem of the test's own (a tmpfs), made bigger on demand."""
    folder = Path(tempfile.mkdtemp(prefix="payambar-tiny-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip("mounting a tmpfs needs root here; the SQLITE_MAX_PAGES test above covers a full disk")

    def grow(size: str) -> None:
        subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True, capture_output=True)

    yield folder, grow
    subprocess.run(["umount", "-l", str(folder)], capture_output=True)
    folder.rmdir()


async def test_a_really_full_disk_refuses_writes_and_resumes_once_there_is_room(server_factory, tmp_path, tiny_disk):
    disk, grow = tiny_disk
    server = server_factory(tmp_path / "server", DATA_DIR=str(disk), DATABASE_URL=f"sqlite:///{disk}/payambar.db")
    apis = await register_many(server, 4)
    pairs = [(apis[i], apis[(i + 1) % 4]) for i in range(4)]
    senders = Senders(pairs, text_size=2000).start()
    await wait_for(lambda: len(senders.failures) >= 20, 60, "sends refused")
    await senders.stop()
    assert set(senders.failures) == {507}, senders.failures
    acknowledged = dict(senders.acknowledged)
    assert (await apis[0].get("/api/conversations")).status_code == 200

    grow("64m")  # the operator makes room: no restart
    sara, omid = apis[0], apis[1]
    after = await sara.send(omid.username, "there is room again")
    assert after["text"] == "there is room again"
    stored = {}
    for sender, recipient in pairs:
        stored.update({m["client_id"]: m for m in await history(sender, recipient.username)})
    assert set(acknowledged) <= set(stored), "an acknowledged message was lost"
    server.stop()
    assert integrity(disk / "payambar.db") == "ok"
    assert "Traceback" not in server.log()
    print(
        f"\nreal full disk (2 MiB tmpfs): {len(acknowledged)} acknowledged, {len(senders.failures)} refused with 507;"
        " writing resumed after the filesystem grew, no restart; lost 0, integrity ok"
    )
    await close_all(*apis)
