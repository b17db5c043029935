"""A small tus 1.0 client for the tests, over the tests' Api client."""

from __future__ import annotations

import base64

TUS = {"Tus-Resumable": "1.0.0"}
OFFSET_TYPE = {"Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


async def create(api, length: int, name: str = "notes.txt", encrypted: bool = False, **headers: str):
    marks = metadata(filename=name, **({"encrypted": "1"} if encrypted else {}))
    return await api.post(
        "/api/uploads", headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": marks, **headers}
    )


async def start(api, length: int, name: str = "notes.txt", encrypted: bool = False) -> str:
    response = await create(api, length, name, encrypted)
    assert response.status_code == 201, response.text
    return response.headers["location"]


async def append(api, location: str, offset: int, data: bytes, **headers: str):
    return await api.patch(
        location, headers={**TUS, **OFFSET_TYPE, "Upload-Offset": str(offset), **headers}, content=data
    )


async def head(api, location: str):
    return await api.request("HEAD", location, headers=TUS)


async def upload(api, data: bytes, name: str = "notes.txt", chunk: int = 256 * 1024, encrypted: bool = False) -> dict:
    """Uploads in chunks; the finished file object."""
    location = await start(api, len(data), name, encrypted)
    offset = 0
    while offset < len(data):
        response = await append(api, location, offset, data[offset : offset + chunk])
        assert response.status_code == 204, response.text
        offset = int(response.headers["upload-offset"])
    file_id = location.rsplit("/", 1)[1]
    response = await api.get(f"/api/files/{file_id}/info")
    assert response.status_code == 200, response.text
    return response.json()


async def upload_refused(api, data: bytes, name: str):
    """The answer that refused an upload (sent whole in one PATCH)."""
    location = await start(api, len(data), name)
    return await append(api, location, 0, data), location
