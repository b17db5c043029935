"""Linking a second Python device through the server's relay (docs/e2ee.md §9): by short code and
by QR text; the new device reads what is sent after it joined and nothing from before; a relay that
changes what passes through it is caught."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from payambar.client import Client, LinkRefused
from payambar.e2ee import link as e2ee_link
from payambar.e2ee.primitives import b64, random_bytes, unb64, x25519_public
from tests.e2ee_people import close, person
from tests.helpers import PASSWORD


async def new_device(server, folder, first: Client, http: httpx.AsyncClient | None = None) -> Client:
    device = Client(server.url, folder / f"{first.username}-new.keys", http=http)
    await device.login(first.username, PASSWORD)
    return device


async def link_by_short_code(new: Client, existing: Client) -> bytes:
    """Both sides at once, as two people's hands would: the code the new device shows is the
    one the existing device's person is asked to confirm."""
    request = await new.start_link()
    shown = asyncio.get_running_loop().create_future()

    async def new_side() -> None:
        shown.set_result(await request.short_code(timeout=30))
        await request.finish(timeout=30)

    async def person_compares(code: str) -> bool:
        return code == await shown

    approved, finished = await asyncio.gather(
        existing.approve_link(request.link_id, confirm=person_compares, timeout=30), new_side(), return_exceptions=True
    )
    for outcome in (approved, finished):
        if isinstance(outcome, BaseException):
            raise outcome
    assert approved == new.keystore.device.device_id
    return approved


async def test_a_device_linked_by_short_code_reads_what_is_sent_after_it_joined_only(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    phone = await new_device(live_server, tmp_path, omid[0])
    try:
        await sara[0].send_text(omid[0].username, "before the new phone")
        await link_by_short_code(phone, omid[0])
        assert phone.keystore.identity_key == omid[0].keystore.identity_key
        assert phone.keystore_path.exists() and phone.keystore_path.stat().st_mode & 0o077 == 0
        listed = (await sara[0].keys_of(omid[0].username, fresh=True)).device_list.devices
        assert (phone.keystore.device.device_id, phone.keystore.device_key) in listed
        await sara[0].send_text(omid[0].username, "after the new phone")
        read = await phone.history(sara[0].username)
        assert [m.text for m in read] == [None, "after the new phone"]
        assert read[0].error.startswith("could not be decrypted")
        await phone.send_text(sara[0].username, "from the new phone")
        assert [m.text for m in await sara[0].history(omid[0].username)][-1] == "from the new phone"
        assert [m.text for m in await omid[0].history(sara[0].username)] == [
            "before the new phone",
            "after the new phone",
            "from the new phone",
        ]
        assert phone.safety_number(sara[0].username) == sara[0].safety_number(omid[0].username)
        assert (await omid[0]._call("GET", "/api/keys/links"))["links"] == [], "the finished link is closed"
    finally:
        await close(sara, omid, [phone])


async def test_a_device_linked_by_qr_text_gets_the_identity_and_the_verified_people(live_server, tmp_path):
    sara, omid = await person(live_server, tmp_path, 1), await person(live_server, tmp_path, 1)
    laptop = await new_device(live_server, tmp_path, omid[0])
    try:
        await omid[0].keys_of(sara[0].username)
        omid[0].keystore.pins[sara[0].user_id].verified = True  # omid compared safety numbers with sara
        request = await laptop.start_link()
        assert request.qr.startswith("payambar-link:1:") and len(request.qr) == len("payambar-link:1:") + 96
        code = asyncio.create_task(request.short_code(timeout=30))
        await omid[0].approve_link(request.qr, confirm=lambda shown: True, timeout=30)
        await request.finish(timeout=30)
        assert len(await code) == 6
        assert laptop.keystore.pins[sara[0].user_id].verified
        assert laptop.keystore.pins[sara[0].user_id].identity_key == sara[0].keystore.identity_key
        await sara[0].send_text(omid[0].username, "to both")
        assert [m.text for m in await laptop.history(sara[0].username)] == ["to both"]
    finally:
        await close(sara, omid, [laptop])


class Relay(httpx.AsyncBaseTransport):
    """A relay in the middle: hands each link read to `change` before the client sees it."""

    def __init__(self, change) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.change = change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method != "GET" or not request.url.path.startswith("/api/keys/links/"):
            return response
        body = orjson.loads(await response.aread())
        return httpx.Response(response.status_code, json=self.change(body))

    async def aclose(self) -> None:
        await self.inner.aclose()


def other_revealed(link: dict) -> dict:
    if link.get("revealed"):
        swapped = e2ee_link.Revealed(x25519_public(random_bytes(32)), unb64(link["revealed"])[32:40], random_bytes(32))
        link["revealed"] = b64(swapped.as_bytes())
    return link


async def test_revealed_values_a_relay_swapped_fail_the_commitment_and_nothing_is_listed(live_server, tmp_path):
    (omid,) = await person(live_server, tmp_path, 1)
    tapped = Client(live_server.url, http=httpx.AsyncClient(base_url=live_server.url, transport=Relay(other_revealed)))
    await tapped.login(omid.username, PASSWORD)
    tapped.keystore = omid.keystore  # the same device as omid, reading the relay through the tap
    phone = await new_device(live_server, tmp_path, omid)
    try:
        before = (await omid.keys_of(omid.username, fresh=True)).device_list
        request = await phone.start_link()
        results = await asyncio.gather(
            tapped.approve_link(request.link_id, confirm=lambda code: True, timeout=30),
            request.finish(timeout=30),
            return_exceptions=True,
        )
        assert isinstance(results[0], LinkRefused) and "commitment" in str(results[0])
        assert isinstance(results[1], LinkRefused)
        after = (await omid.keys_of(omid.username, fresh=True)).device_list
        assert after == before, "no device was added"
        assert phone.keystore is None and not phone.keystore_path.exists()
    finally:
        await close([omid, tapped, phone])


def other_existing_key(link: dict) -> dict:
    if link.get("existing_key"):
        link["existing_key"] = b64(x25519_public(random_bytes(32)))
    return link


async def test_an_existing_key_a_relay_swapped_gives_other_codes_and_the_person_refuses(live_server, tmp_path):
    (omid,) = await person(live_server, tmp_path, 1)
    relay = httpx.AsyncClient(base_url=live_server.url, transport=Relay(other_existing_key))
    phone = await new_device(live_server, tmp_path, omid, http=relay)
    try:
        with pytest.raises(LinkRefused, match="short codes differ"):
            await link_by_short_code(phone, omid)
        assert len((await omid.keys_of(omid.username, fresh=True)).device_list.devices) == 1
        assert (await omid._call("GET", "/api/keys/links"))["links"] == [], "the refused link is closed"
    finally:
        await close([omid, phone])


async def test_a_device_with_keys_cannot_start_a_link_and_approving_needs_the_codes(live_server, tmp_path):
    (omid,) = await person(live_server, tmp_path, 1)
    try:
        with pytest.raises(RuntimeError, match="has keys already"):
            await omid.start_link()
        with pytest.raises(ValueError, match="compare the short codes"):
            await omid.approve_link("payambar-link:1:" + "A" * 96)
        with pytest.raises(LinkRefused, match="no link request"):
            await omid.approve_link(e2ee_link.qr_text(e2ee_link.Revealed(bytes(32), bytes(8), bytes(32))), code="1")
    finally:
        await close([omid])
