"""The sealed key backup: your own only, versioned against two devices writing, size-limited,
rate-limited, and 401 without a token."""

from __future__ import annotations

import base64
import os

import pytest
from checks import close_all, register_many
from helpers import Api, register

URL = "/api/keys/backup"


def sealed(size: int = 2000) -> str:
    return base64.urlsafe_b64encode(os.urandom(size)).decode().rstrip("=")


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, f"{response.status_code} {response.text}"
    assert response.json()["error"]["code"] == code, response.text


@pytest.fixture(scope="module")
async def users(live_server):
    apis = await register_many(live_server, 3)
    yield apis
    await close_all(*apis)


async def test_a_backup_is_stored_read_back_and_versioned(users):
    sara = users[0]
    refused(await sara.get(URL), 404, "backup_not_found")
    first = sealed()
    response = await sara.request("PUT", URL, json={"replaces": 0, "sealed": first})
    assert response.status_code == 200 and response.json() == {"version": 1}
    assert (await sara.get(URL)).json() == {"version": 1, "sealed": first}
    second = sealed()
    assert (await sara.request("PUT", URL, json={"replaces": 1, "sealed": second})).json() == {"version": 2}
    assert (await sara.get(URL)).json() == {"version": 2, "sealed": second}


async def test_a_stale_version_is_409_and_keeps_the_newer_backup(users):
    omid = users[1]
    kept = sealed()
    assert (await omid.request("PUT", URL, json={"replaces": 0, "sealed": kept})).status_code == 200
    for stale in (0, 5):
        response = await omid.request("PUT", URL, json={"replaces": stale, "sealed": sealed()})
        refused(response, 409, "stale_version")
        assert response.json()["error"]["field"] == "replaces"
    assert (await omid.get(URL)).json() == {"version": 1, "sealed": kept}


async def test_each_person_reads_and_deletes_only_their_own(live_server, users):
    sara, _, stranger = users
    mine = sealed()
    await sara.request("DELETE", URL)
    assert (await sara.request("PUT", URL, json={"replaces": 0, "sealed": mine})).status_code == 200
    refused(await stranger.get(URL), 404, "backup_not_found")
    refused(await stranger.request("DELETE", URL), 404, "backup_not_found")
    assert (await sara.get(URL)).json()["sealed"] == mine
    anonymous = Api(live_server)
    for method in ("GET", "PUT", "DELETE"):
        assert (await anonymous.request(method, URL, json={"replaces": 0, "sealed": "AA"})).status_code == 401
    await anonymous.close()
    assert (await sara.request("DELETE", URL)).status_code == 204
    refused(await sara.get(URL), 404, "backup_not_found")


async def test_bad_input_is_a_clear_error(users):
    sara = users[0]
    for body, field in (
        ({"replaces": 0, "sealed": "not base64url!"}, "sealed"),
        ({"replaces": 0, "sealed": ""}, "sealed"),
        ({"replaces": -1, "sealed": "AA"}, "replaces"),
        ({"replaces": True, "sealed": "AA"}, "replaces"),
        ({"sealed": "AA"}, "replaces"),
    ):
        response = await sara.request("PUT", URL, json=body)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["field"] == field
    refused(await sara.request("PUT", URL, content=b"{not json"), 400, "bad_json")


async def test_a_backup_past_1_mib_is_413(users):
    sara = users[0]
    response = await sara.request("PUT", URL, json={"replaces": 0, "sealed": "A" * (1024 * 1024 + 1)})
    refused(response, 413, "backup_too_large")
    response = await sara.request("PUT", URL, json={"replaces": 0, "sealed": "A" * (2 * 1024 * 1024)})
    refused(response, 413, "payload_too_large")
    at_limit = "A" * (1024 * 1024)
    await sara.request("DELETE", URL)
    assert (await sara.request("PUT", URL, json={"replaces": 0, "sealed": at_limit})).status_code == 200
    assert (await sara.get(URL)).json()["sealed"] == at_limit


async def test_backup_calls_are_rate_limited(live_server):
    newcomer = await register(live_server)
    answers = [(await newcomer.get(URL)).status_code for _ in range(302)]
    await newcomer.close()
    assert answers[:300] == [404] * 300
    assert answers[300:] == [429, 429]
