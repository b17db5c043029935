"""The key directory over HTTP: who may publish and read what, signatures, versions, limits,
one-time prekeys handed out once."""

from __future__ import annotations

import asyncio

import pytest
from checks import assert_error
from helpers import Api, Socket, register

from payambar.client import Keystore
from payambar.e2ee import keys
from payambar.e2ee.primitives import b64


async def keyed(server) -> tuple[Api, Keystore]:
    """A person with one device whose list and bundle are published."""
    api = await register(server)
    keystore = Keystore.new_device(api.user["id"])
    await publish_list(api, keystore, [(keystore.device.device_id, keystore.device_key)])
    response = await api.request("PUT", device_path(keystore), json=keystore.bundle().as_json())
    assert response.status_code == 200, response.text
    return api, keystore


def device_path(keystore: Keystore) -> str:
    return f"/api/keys/devices/{b64(keystore.device.device_id)}"


async def publish_list(api: Api, keystore: Keystore, devices, **extra):
    body = keystore.sign_device_list(devices).as_json() | extra
    return await api.request("PUT", "/api/keys/device-list", json=body)


async def test_a_published_device_list_and_bundle_are_read_back_exactly(live_server):
    api, keystore = await keyed(live_server)
    reader = await register(live_server)
    try:
        answer = (await reader.get(f"/api/users/{api.username}/keys")).json()
        assert answer["user_id"] == api.user["id"]
        assert answer["device_list"]["identity_key"] == b64(keystore.identity_key)
        assert answer["bundles"] == [keystore.bundle().as_json()]
    finally:
        await api.close(), await reader.close()


async def test_a_person_without_keys_is_404_no_keys(live_server):
    api, other = await register(live_server), await register(live_server)
    try:
        assert_error(await api.get(f"/api/users/{other.username}/keys"), 404, "no_keys")
    finally:
        await api.close(), await other.close()


async def test_every_key_route_refuses_a_stranger_without_a_token(live_server):
    owner, keystore = await keyed(live_server)
    stranger = Api(live_server)
    device = b64(keystore.device.device_id)
    try:
        for method, path in [
            ("PUT", "/api/keys/device-list"),
            ("PUT", f"/api/keys/devices/{device}"),
            ("GET", f"/api/keys/devices/{device}"),
            ("POST", f"/api/keys/devices/{device}/one-time-prekeys"),
            ("GET", f"/api/users/{owner.username}/keys"),
            ("POST", f"/api/users/{owner.username}/keys/{device}/claim"),
        ]:
            assert_error(await stranger.request(method, path, json={}), 401, "unauthorized")
    finally:
        await owner.close(), await stranger.close()


async def test_a_device_list_naming_someone_else_is_403(live_server):
    owner, keystore = await keyed(live_server)
    other = await register(live_server)
    try:
        response = await publish_list(other, keystore, [(keystore.device.device_id, keystore.device_key)])
        assert_error(response, 403, "not_your_keys")
    finally:
        await owner.close(), await other.close()


async def test_a_device_list_with_a_bad_signature_is_refused(live_server):
    api = await register(live_server)
    keystore = Keystore.new_device(api.user["id"])
    try:
        body = keystore.sign_device_list([(keystore.device.device_id, keystore.device_key)]).as_json()
        body["timestamp"] += 1  # signed bytes no longer match
        assert_error(await api.request("PUT", "/api/keys/device-list", json=body), 422, "invalid_input", "signature")
        body["devices"] = [{"device_id": "AAAAAAAAAAA", "device_key": "x"}] * 17
        assert_error(await api.request("PUT", "/api/keys/device-list", json=body), 422, "invalid_input", "devices")
    finally:
        await api.close()


async def test_a_list_must_grow_its_version_and_a_new_identity_needs_reset(live_server):
    api, keystore = await keyed(live_server)
    devices = [(keystore.device.device_id, keystore.device_key)]
    try:
        stale = keys.sign_device_list(keystore.identity_seed, keystore.identity_key, api.user["id"], 1, 5, devices)
        assert_error(await api.request("PUT", "/api/keys/device-list", json=stale.as_json()), 409, "stale_device_list")
        newcomer = Keystore.new_device(api.user["id"])
        assert_error(await publish_list(api, newcomer, devices), 409, "identity_changed")
        reset = await publish_list(api, newcomer, [(newcomer.device.device_id, newcomer.device_key)], reset=True)
        assert reset.status_code == 200 and reset.json()["changed"] is True
        # the device of the old identity is gone with it
        assert (await api.get(device_path(keystore))).status_code == 404
    finally:
        await api.close()


async def test_the_same_list_published_twice_changes_nothing(live_server):
    api = await register(live_server)
    keystore = Keystore.new_device(api.user["id"])
    body = keystore.sign_device_list([(keystore.device.device_id, keystore.device_key)]).as_json()
    try:
        first = await api.request("PUT", "/api/keys/device-list", json=body)
        second = await api.request("PUT", "/api/keys/device-list", json=body)
        assert first.json()["changed"] is True and second.json()["changed"] is False
    finally:
        await api.close()


async def test_a_bundle_is_accepted_only_for_your_own_listed_device_and_its_key(live_server):
    owner, keystore = await keyed(live_server)
    other, theirs = await keyed(live_server)
    try:
        # someone else's device id under your account: not in your list
        response = await other.request("PUT", device_path(keystore), json=keystore.bundle().as_json())
        assert_error(response, 404, "device_not_found")
        # your own device, but signed by another device's key
        forged = theirs.bundle().as_json() | {"device_id": b64(keystore.device.device_id)}
        assert_error(await owner.request("PUT", device_path(keystore), json=forged), 422, "invalid_input", "signature")
        # another person's device is not yours to look at
        assert_error(await other.get(device_path(keystore)), 404, "device_not_found")
    finally:
        await owner.close(), await other.close()


async def test_one_time_prekeys_are_handed_out_once_even_when_claimed_at_once(live_server):
    owner, keystore = await keyed(live_server)
    claimers = [await register(live_server) for _ in range(3)]
    batch = keystore.new_one_time_prekeys(10)
    try:
        response = await owner.post(f"{device_path(keystore)}/one-time-prekeys", json={"prekeys": batch})
        assert response.json() == {"one_time_prekeys": 10}
        path = f"/api/users/{owner.username}/keys/{b64(keystore.device.device_id)}/claim"
        answers = await asyncio.gather(*(claimers[i % 3].post(path) for i in range(16)))
        assert all(answer.status_code == 200 for answer in answers)
        handed = [answer.json()["one_time_prekey"] for answer in answers]
        ids = [prekey["id"] for prekey in handed if prekey]
        assert sorted(ids) == sorted(p["id"] for p in batch)  # each once, none twice
        assert handed.count(None) == 6
        assert all(answer.json()["bundle"] == keystore.bundle().as_json() for answer in answers)
        assert (await owner.get(device_path(keystore))).json()["one_time_prekeys"] == 0
    finally:
        await owner.close()
        for claimer in claimers:
            await claimer.close()


async def test_one_time_prekeys_are_checked_and_capped(live_server):
    owner, keystore = await keyed(live_server)
    path = f"{device_path(keystore)}/one-time-prekeys"
    try:
        too_many = keystore.new_one_time_prekeys(101)
        assert_error(await owner.post(path, json={"prekeys": too_many}), 422, "invalid_input", "prekeys")
        forged = keystore.new_one_time_prekeys(1)
        forged[0]["id"] += 1  # the signature covers the id
        assert_error(await owner.post(path, json={"prekeys": forged}), 422, "invalid_input", "signature")
        for _ in range(2):
            assert (await owner.post(path, json={"prekeys": keystore.new_one_time_prekeys(100)})).status_code == 200
        assert_error(
            await owner.post(path, json={"prekeys": keystore.new_one_time_prekeys(1)}), 409, "too_many_prekeys"
        )
    finally:
        await owner.close()


async def test_a_device_removed_from_the_list_loses_its_bundle_and_prekeys(live_server):
    owner, keystore = await keyed(live_server)
    second = Keystore.new_device(owner.user["id"], keystore.identity_seed)
    reader = await register(live_server)
    try:
        both = [(keystore.device.device_id, keystore.device_key), (second.device.device_id, second.device_key)]
        keystore.list_version = 1
        assert (await publish_list(owner, keystore, both)).status_code == 200
        assert (await owner.request("PUT", device_path(second), json=second.bundle().as_json())).status_code == 200
        await owner.post(f"{device_path(second)}/one-time-prekeys", json={"prekeys": second.new_one_time_prekeys(5)})
        assert len((await reader.get(f"/api/users/{owner.username}/keys")).json()["bundles"]) == 2
        assert (await publish_list(owner, keystore, both[:1])).status_code == 200
        answer = (await reader.get(f"/api/users/{owner.username}/keys")).json()
        assert [b["device_id"] for b in answer["bundles"]] == [b64(keystore.device.device_id)]
        claim = await reader.post(f"/api/users/{owner.username}/keys/{b64(second.device.device_id)}/claim")
        assert_error(claim, 404, "device_not_found")
    finally:
        await owner.close(), await reader.close()


async def test_a_changed_device_list_is_told_to_chat_peers_and_own_connections(live_server):
    owner, keystore = await keyed(live_server)
    peer = await register(live_server)
    await owner.send(peer.username, "hello before keys")  # peer has no keys: plaintext chat
    peer_socket = await Socket.open(live_server, peer.token)
    own_socket = await Socket.open(live_server, owner.token)
    try:
        second = Keystore.new_device(owner.user["id"], keystore.identity_seed)
        keystore.list_version = 1
        devices = [(keystore.device.device_id, keystore.device_key), (second.device.device_id, second.device_key)]
        assert (await publish_list(owner, keystore, devices)).status_code == 200
        assert await peer_socket.expect("keys") == {"type": "keys", "user": owner.username}
        assert await own_socket.expect("keys") == {"type": "keys", "user": owner.username}
    finally:
        await peer_socket.close(), await own_socket.close()
        await owner.close(), await peer.close()


@pytest.mark.parametrize("route", ["read", "claim"])
async def test_reading_keys_is_rate_limited(server_factory, route):
    server = server_factory(KEY_REQUESTS_PER_HOUR="3")
    owner, keystore = await keyed(server)
    reader = await register(server)
    path = f"/api/users/{owner.username}/keys"
    if route == "claim":
        path += f"/{b64(keystore.device.device_id)}/claim"
    try:
        for _ in range(3):
            assert (await reader.request("POST" if route == "claim" else "GET", path)).status_code == 200
        refused = await reader.request("POST" if route == "claim" else "GET", path)
        assert_error(refused, 429, "rate_limited")
        assert int(refused.headers["retry-after"]) > 0
    finally:
        await owner.close(), await reader.close()
