"""tus 1.0 at /api/uploads: creation, appending in chunks, resuming after a cut, termination,
expiry, and every refusal (409, 412, 413, 415 for a wrong body type, 404 for other people's uploads, 429)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from urllib.parse import urlsplit

import pytest
import tus
from checks import close_all, register_many
from conftest import make_server
from helpers import Api, register
from media_samples import unique_bytes, windows_exe


def assert_refused(response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    if response.request.method != "HEAD":  # a HEAD answer has no body
        assert response.json()["error"]["code"] == code, response.text
    assert response.headers["tus-resumable"] == "1.0.0"


@pytest.fixture(scope="module")
async def users(live_server):
    apis = await register_many(live_server, 3)
    yield apis
    await close_all(*apis)


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory):
    """A server with small limits and short expiry, shared by the tests of limits."""
    server = make_server(
        tmp_path_factory.mktemp("limited"),
        UPLOAD_EXPIRY_SECONDS="2",
        UPLOAD_SWEEP_SECONDS="1",
        UPLOAD_QUOTA_BYTES="10000",
        UPLOADS_PER_MINUTE="5",
        MAX_UPLOAD_BYTES="8000",
    ).start()
    yield server
    server.stop()


async def test_options_advertises_version_extensions_and_max_size(live_server):
    api = Api(live_server)
    response = await api.request("OPTIONS", "/api/uploads")
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-version"] == "1.0.0"
    assert set(response.headers["tus-extension"].split(",")) >= {"creation", "termination"}
    assert response.headers["tus-max-size"] == str(20 * 1024 * 1024)
    await api.close()


async def test_create_answers_201_with_location_and_head_reports_offset_zero(users):
    sara = users[0]
    response = await tus.create(sara, 1000, "دفترچه.txt")
    assert response.status_code == 201
    assert response.headers["tus-resumable"] == "1.0.0"
    location = response.headers["location"]
    assert location.startswith("/api/uploads/")
    assert "upload-expires" in response.headers
    head = await tus.head(sara, location)
    assert head.status_code == 200
    assert head.headers["upload-offset"] == "0"
    assert head.headers["upload-length"] == "1000"
    assert head.headers["cache-control"] == "no-store"
    assert head.headers["tus-resumable"] == "1.0.0"


async def test_chunks_append_and_the_finished_upload_is_a_file_with_the_same_bytes(users):
    sara = users[0]
    data = unique_bytes(700_000)
    location = await tus.start(sara, len(data), "log.txt")
    offset = 0
    for size in (100_000, 250_000, 350_000):
        response = await tus.append(sara, location, offset, data[offset : offset + size])
        assert response.status_code == 204, response.text
        assert response.headers["tus-resumable"] == "1.0.0"
        offset += size
        assert response.headers["upload-offset"] == str(offset)
    file_id = location.rsplit("/", 1)[1]
    info = (await sara.get(f"/api/files/{file_id}/info")).json()
    assert info == {"id": file_id, "name": "log.txt", "mime": "text/plain", "size": len(data)}
    download = await sara.get(f"/api/files/{file_id}")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).digest() == hashlib.sha256(data).digest()
    head = await tus.head(sara, location)  # a client resuming after a reload learns it is done
    assert head.headers["upload-offset"] == head.headers["upload-length"] == str(len(data))


async def test_wrong_offset_is_409_and_tells_the_current_offset(users):
    sara = users[0]
    data = unique_bytes(5000)
    location = await tus.start(sara, len(data))
    assert (await tus.append(sara, location, 0, data[:1000])).status_code == 204
    response = await tus.append(sara, location, 500, data[500:2000])
    assert_refused(response, 409, "offset_mismatch")
    assert response.headers["upload-offset"] == "1000"
    assert (await tus.head(sara, location)).headers["upload-offset"] == "1000"


async def test_patch_without_the_offset_content_type_is_415(users):
    sara = users[0]
    location = await tus.start(sara, 100)
    response = await tus.append(sara, location, 0, b"x" * 100, **{"Content-Type": "application/octet-stream"})
    assert_refused(response, 415, "bad_content_type")


async def test_missing_tus_resumable_header_is_412(users):
    sara = users[0]
    response = await sara.post("/api/uploads", headers={"Upload-Length": "10"})
    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"
    # HEAD, PATCH and DELETE of an upload want the header too (the tus protocol, the document);
    # the upload is left as it was.
    location = await tus.start(sara, 10)
    for method, headers in (
        ("HEAD", {}),
        ("PATCH", {"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}),
        ("DELETE", {}),
    ):
        answer = await sara.request(method, location, headers=headers, content=b"x" * 10 if method == "PATCH" else None)
        assert answer.status_code == 412, (method, answer.text)
        assert answer.headers["tus-version"] == "1.0.0"
    assert (await tus.head(sara, location)).headers["upload-offset"] == "0"


async def test_without_a_token_every_call_is_401(live_server, users):
    location = await tus.start(users[0], 10)
    anonymous = Api(live_server)
    for response in (
        await tus.create(anonymous, 10),
        await tus.head(anonymous, location),
        await tus.append(anonymous, location, 0, b"0123456789"),
        await anonymous.delete(location, headers=tus.TUS),
    ):
        assert response.status_code == 401
        assert response.headers["tus-resumable"] == "1.0.0"
    await anonymous.close()


async def test_another_users_upload_does_not_exist_for_them(users):
    sara, _, stranger = users
    location = await tus.start(sara, 100)
    assert_refused(await tus.head(stranger, location), 404, "upload_not_found")
    assert_refused(await tus.append(stranger, location, 0, b"a" * 100), 404, "upload_not_found")
    assert_refused(await stranger.delete(location, headers=tus.TUS), 404, "upload_not_found")
    assert (await tus.head(sara, location)).headers["upload-offset"] == "0"


async def test_upload_longer_than_the_limit_is_413_before_any_byte(users):
    response = await tus.create(users[0], 20 * 1024 * 1024 + 1)
    assert_refused(response, 413, "file_too_large")
    assert response.headers["tus-max-size"] == str(20 * 1024 * 1024)


async def test_a_body_past_upload_length_is_413(users):
    sara = users[0]
    location = await tus.start(sara, 100)
    response = await tus.append(sara, location, 0, b"a" * 150)
    assert_refused(response, 413, "beyond_length")


async def test_termination_removes_the_upload(users):
    sara = users[0]
    location = await tus.start(sara, 100)
    response = await sara.delete(location, headers=tus.TUS)
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert_refused(await tus.head(sara, location), 404, "upload_not_found")


async def test_an_exe_named_jpg_is_kept_as_opaque_bytes_not_as_a_photo(users):
    sara = users[0]
    sent = await tus.upload(sara, windows_exe(), "holiday.jpg")
    assert sent["mime"] == "application/octet-stream"
    assert "thumbnail" not in sent and "width" not in sent


async def _held_patch(server, token: str, location: str, offset: int, data: bytes, send: int):
    """A PATCH that declares all of `data`, sends `send` bytes and waits; its writer."""
    parts = urlsplit(server.url)
    _, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        (
            f"PATCH {location} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
            f"Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\n"
            f"Upload-Offset: {offset}\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        + data[:send]
    )
    await writer.drain()
    await asyncio.sleep(0.3)
    return writer


async def _cut_patch(server, token: str, location: str, offset: int, data: bytes, send: int) -> None:
    """A PATCH that declares all of `data` but sends only `send` bytes, then drops the connection."""
    writer = await _held_patch(server, token, location, offset, data, send)
    writer.transport.abort()


async def test_a_cut_connection_keeps_what_arrived_and_the_upload_resumes_from_there(live_server, users):
    sara = users[1]
    data = unique_bytes(1_200_000)
    location = await tus.start(sara, len(data), "big.txt")
    await _cut_patch(live_server, sara.token, location, 0, data, 600_000)
    offset = 0
    for _ in range(50):  # the server notices the cut a moment later
        offset = int((await tus.head(sara, location)).headers["upload-offset"])
        if offset:
            break
        await asyncio.sleep(0.1)
    assert 0 < offset <= 600_000
    assert offset >= 600_000 - 256 * 1024  # at most one write buffer is lost
    response = await tus.append(sara, location, offset, data[offset:])
    assert response.status_code == 204, response.text
    file_id = location.rsplit("/", 1)[1]
    download = await sara.get(f"/api/files/{file_id}")
    assert download.content == data


async def test_the_same_bytes_are_stored_once(live_server, users):
    sara, omid, _ = users
    data = unique_bytes(50_000)
    first = await tus.upload(sara, data, "a.txt")
    second = await tus.upload(omid, data, "b.txt")
    assert first["id"] != second["id"]
    blobs = list((live_server.data_dir / "files" / "blobs").rglob(hashlib.sha256(data).hexdigest()))
    assert len(blobs) == 1


# ---- limits (a server of their own) -------------------------------------------------------------


async def test_unfinished_uploads_expire_and_are_cleaned_up(limited_server):
    sara = await register(limited_server)
    location = await tus.start(sara, 1000)
    assert (await tus.append(sara, location, 0, b"x" * 400)).status_code == 204
    partial = limited_server.data_dir / "files" / "partial" / location.rsplit("/", 1)[1]
    assert partial.exists()
    await asyncio.sleep(3.5)
    assert_refused(await tus.head(sara, location), 404, "upload_not_found")
    assert not partial.exists()
    await sara.close()


async def test_the_storage_quota_refuses_with_413(limited_server):
    sara = await register(limited_server)
    await tus.upload(sara, unique_bytes(6000), "one.txt")
    response = await tus.create(sara, 6000)
    assert_refused(response, 413, "quota_exceeded")
    await sara.close()


async def test_too_many_uploads_started_is_429_with_retry_after(limited_server):
    sara = await register(limited_server)
    for _ in range(5):
        assert (await tus.create(sara, 10)).status_code == 201
    response = await tus.create(sara, 10)
    assert_refused(response, 429, "rate_limited")
    assert int(response.headers["retry-after"]) > 0
    await sara.close()


async def test_two_instances_sharing_files_dir_continue_and_serve_each_others_uploads(server_factory, tmp_path):
    shared = {"FILES_DIR": str(tmp_path / "shared-files"), "SECRET_KEY": "shared-secret-key-for-two-instances"}
    first = server_factory(**shared)
    sara = await register(first)  # before the second starts (on SQLite ids are counted in the process)
    second = server_factory(DATABASE_URL=first.env["DATABASE_URL"], **shared)
    data = unique_bytes(300_000)
    location = await tus.start(sara, len(data), "shared.txt")
    assert (await tus.append(sara, location, 0, data[:100_000])).status_code == 204
    on_second = Api(second, sara.token, sara.user)
    assert (await tus.head(on_second, location)).headers["upload-offset"] == "100000"
    assert (await tus.append(on_second, location, 100_000, data[100_000:])).status_code == 204
    file_id = location.rsplit("/", 1)[1]
    assert (await sara.get(f"/api/files/{file_id}")).content == data
    assert (await on_second.get(f"/api/files/{file_id}")).content == data
    await close_all(sara, on_second)


async def test_one_request_at_a_time_writes_an_upload_the_others_wait_then_get_423(live_server, users):
    sara = users[2]
    data = unique_bytes(400_000)
    location = await tus.start(sara, len(data))
    held = await _held_patch(live_server, sara.token, location, 0, data, 100_000)
    response = await tus.append(sara, location, 0, data)
    assert_refused(response, 423, "upload_busy")
    held.transport.abort()
    offset = 0
    for _ in range(50):
        offset = int((await tus.head(sara, location)).headers["upload-offset"])
        if offset:
            break
        await asyncio.sleep(0.1)
    assert (await tus.append(sara, location, offset, data[offset:])).status_code == 204
    assert (await sara.get(f"/api/files/{location.rsplit('/', 1)[1]}")).content == data


async def test_instances_sharing_files_dir_do_not_write_one_upload_at_once(server_factory, tmp_path):
    shared = {"FILES_DIR": str(tmp_path / "shared-files"), "SECRET_KEY": "shared-secret-key-for-two-instances"}
    first = server_factory(**shared)
    sara = await register(first)
    second = server_factory(DATABASE_URL=first.env["DATABASE_URL"], **shared)
    data = unique_bytes(400_000)
    location = await tus.start(sara, len(data))
    held = await _held_patch(first, sara.token, location, 0, data, 100_000)
    on_second = Api(second, sara.token, sara.user)
    assert_refused(await tus.append(on_second, location, 0, data), 423, "upload_busy")  # the file lock
    held.transport.abort()
    await close_all(sara, on_second)


async def test_files_no_message_carries_are_removed_and_free_the_quota(limited_server):
    sara, omid = await register(limited_server), await register(limited_server)
    unsent_data, deleted_data, kept_data = unique_bytes(3000), unique_bytes(3000), unique_bytes(3000)
    unsent = await tus.upload(sara, unsent_data, "unsent.txt")
    deleted = await tus.upload(sara, deleted_data, "deleted.txt")
    kept = await tus.upload(sara, kept_data, "kept.txt")
    assert_refused(await tus.create(sara, 3000), 413, "quota_exceeded")
    for file, text in ((deleted, "gone soon"), (kept, "stays")):
        body = {"to": omid.username, "file_id": file["id"], "text": text, "client_id": uuid.uuid4().hex}
        assert (await sara.post("/api/messages", json=body)).status_code == 201
    history = (await omid.get(f"/api/conversations/{sara.username}/messages")).json()["messages"]
    assert (await sara.delete(f"/api/messages/{history[0]['id']}")).status_code == 200
    await asyncio.sleep(3.5)  # past the expiry, and a sweep
    assert (await sara.get(f"/api/files/{unsent['id']}/info")).status_code == 404
    assert (await sara.get(f"/api/files/{deleted['id']}/info")).status_code == 404
    assert (await omid.get(f"/api/files/{kept['id']}")).content == kept_data
    blobs = limited_server.data_dir / "files" / "blobs"
    for data, present in ((unsent_data, False), (deleted_data, False), (kept_data, True)):
        assert bool(list(blobs.rglob(hashlib.sha256(data).hexdigest()))) == present
    assert (await tus.create(sara, 3000)).status_code == 201  # room in the quota again
    await close_all(sara, omid)


@pytest.mark.parametrize(
    "headers",
    [
        {"Upload-Length": "abc"},
        {"Upload-Length": "-1"},
        {"Upload-Length": "1e5"},
        {"Upload-Length": "9" * 40},
        {"Upload-Length": ""},
        {"Upload-Length": "10", "Upload-Metadata": "filename ***"},
        {"Upload-Length": "10", "Upload-Metadata": "filename Zm9"},
        {"Upload-Length": "10", "Upload-Metadata": "file name Zm9v"},
        {"Upload-Length": "10", "Upload-Defer-Length": "1"},
    ],
)
async def test_bad_creation_headers_get_a_clear_4xx(users, headers):
    response = await users[0].post("/api/uploads", headers={**tus.TUS, **headers})
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"]
    assert response.headers["tus-resumable"] == "1.0.0"


@pytest.mark.parametrize("offset", ["", "x", "-5", "1.5", "9" * 40])
async def test_bad_offsets_get_400(users, offset):
    location = await tus.start(users[0], 10)
    response = await users[0].patch(
        location, headers={**tus.TUS, **tus.OFFSET_TYPE, "Upload-Offset": offset}, content=b"0123456789"
    )
    assert_refused(response, 400, "bad_header")


@pytest.mark.parametrize("upload_id", ["%2E%2E%2Fsecret_key", "A" * 21, "A" * 23, "A" * 22])
async def test_malformed_or_unknown_upload_ids_are_404(users, upload_id):
    for response in (
        await tus.head(users[0], f"/api/uploads/{upload_id}"),
        await tus.append(users[0], f"/api/uploads/{upload_id}", 0, b"x"),
        await users[0].delete(f"/api/uploads/{upload_id}", headers=tus.TUS),
    ):
        assert response.status_code == 404, (upload_id, response.status_code)
