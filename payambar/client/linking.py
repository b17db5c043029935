"""Both sides of linking a device through the server's relay (docs/e2ee.md §9).

New device:                                   Existing device:
    link = await client.start_link()
    show(link.qr)                             await client.approve_link(scanned_qr_or_link_id,
    show(await link.short_code())                                       confirm=person_says_codes_match)
    await link.finish()
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from payambar.client.directory import PeerKeys
from payambar.client.errors import ApiFailed
from payambar.client.keystore import Keystore, Pin
from payambar.e2ee import backup, keys
from payambar.e2ee import link as protocol
from payambar.e2ee.link import LinkRefused, Revealed
from payambar.e2ee.primitives import b64, random_bytes, unb64, x25519_public

LINKS = "/api/keys/links"
STATES = ("requested", "answered", "revealed", "sealed")
LINK_SECONDS = 600
Confirm = Callable[[str], bool | Awaitable[bool]]


class Device(Protocol):
    """What linking needs of the Client it is mixed into."""

    keystore_path: Path | None

    keystore: Keystore | None

    @property
    def _keystore(self) -> Keystore: ...
    @property
    def user_id(self) -> int: ...
    @property
    def username(self) -> str: ...
    async def _call(self, method: str, path: str, **kwargs: Any) -> Any: ...
    async def publish_prekeys(self) -> None: ...
    async def keys_of(self, username: str, fresh: bool = False) -> PeerKeys: ...
    async def approve(self, card: tuple[bytes, bytes]) -> keys.DeviceList: ...


async def wait_past(client: Device, link_id: str, state: str, timeout: float) -> dict:
    """The link once it is past `state`; LinkRefused when it was closed, expired or timed out."""
    deadline = time.monotonic() + timeout
    while True:
        wait = max(0, min(25, int(deadline - time.monotonic())))
        try:
            link = await client._call("GET", f"{LINKS}/{link_id}", params={"after": state, "wait": wait})
        except ApiFailed as error:
            if error.status in (404, 410):
                raise LinkRefused(f"the link is gone ({error.code})") from None
            raise
        if STATES.index(link["state"]) > STATES.index(state):
            return link
        if time.monotonic() >= deadline:
            raise LinkRefused(f"no answer within {timeout:.0f} s")


async def close_quietly(client: Device, link_id: str) -> None:
    try:
        await client._call("DELETE", f"{LINKS}/{link_id}")
    except ApiFailed:
        pass  # closed by the other side already, or expired


class LinkRequest:
    """The new device's side of one link: its fresh keys (not saved until the link succeeds),
    the QR text it shows, then the short code and the handed-over identity."""

    def __init__(self, client: Device, keystore: Keystore, link_private: bytes, link_id: str) -> None:
        self.client = client
        self.keystore = keystore
        self.link_private = link_private
        self.link_id = link_id
        self.revealed = Revealed(x25519_public(link_private), keystore.device.device_id, keystore.device_key)
        self.secrets: protocol.LinkSecrets | None = None
        self._revealing = asyncio.Lock()  # short_code and finish may run at once

    @property
    def qr(self) -> str:
        return protocol.qr_text(self.revealed)

    async def short_code(self, timeout: float = LINK_SECONDS) -> str:
        """Waits for an existing device to answer, reveals this device's values (only now, after
        the answer), and returns the code both screens show."""
        return (await self._secrets(timeout)).code

    async def _secrets(self, timeout: float) -> protocol.LinkSecrets:
        async with self._revealing:
            if self.secrets is None:
                link = await wait_past(self.client, self.link_id, "requested", timeout)
                existing_key = unb64(link["existing_key"])
                if link["revealed"] is None:
                    await self.client._call(
                        "POST", f"{LINKS}/{self.link_id}/reveal", json={"revealed": b64(self.revealed.as_bytes())}
                    )
                self.secrets = protocol.derive(self.link_private, existing_key, self.revealed, existing_key)
            return self.secrets

    async def finish(self, timeout: float = LINK_SECONDS) -> None:
        """Waits for the sealed payload, opens and checks it, then keeps the identity key, saves
        this device's keys and publishes its bundle. LinkRefused when anything does not check out."""
        secrets = await self._secrets(timeout)
        try:
            link = await wait_past(self.client, self.link_id, "revealed", timeout)
            if link["sealed"] is None:
                raise LinkRefused("the link ended without a payload")
            opened = protocol.open_payload(secrets, unb64(link["sealed"]))
            payload = protocol.parse_payload(opened, self.client.user_id, self.revealed)
        except LinkRefused:
            await close_quietly(self.client, self.link_id)
            raise
        store = self.keystore
        store.identity_seed = payload.identity_seed
        store.list_version = payload.device_list.version
        for user_id, identity_key in payload.verified:
            if user_id != store.device.user_id:
                store.pins[user_id] = Pin(identity_key, 0, verified=True)
        store.history.update(payload.history)  # what was sent before this device joined (§14)
        store.path = self.client.keystore_path
        store.save()
        self.client.keystore = store
        await self.client.publish_prekeys()
        await close_quietly(self.client, self.link_id)

    async def cancel(self) -> None:
        await close_quietly(self.client, self.link_id)


async def _link_for(client: Device, qr_or_link_id: str) -> tuple[dict, Revealed | None]:
    if not qr_or_link_id.startswith(protocol.QR_PREFIX):
        return await client._call("GET", f"{LINKS}/{qr_or_link_id}"), None
    revealed = protocol.parse_qr(qr_or_link_id)
    wanted = b64(protocol.commitment(revealed.as_bytes()))
    for link in (await client._call("GET", LINKS))["links"]:
        if link["commitment"] == wanted and link["state"] == "requested":
            return link, revealed
    raise LinkRefused("no link request of yours matches this code")


class Linking:
    """Client's two sides of a link (Client mixes this in)."""

    async def start_link(self: Device) -> LinkRequest:
        """On a new device (logged in, no keys yet): makes its keys and posts a link request.
        Show `.qr`, then `await .short_code()`, then `await .finish()` (docs/e2ee.md §9)."""
        if self.keystore is not None or (self.keystore_path and self.keystore_path.exists()):
            raise RuntimeError("this device has keys already: a device is linked once, before it has any")
        # The identity made here is never used: the approving device's replaces it before anything is saved.
        keystore = Keystore.new_device(self.user_id)
        link_private = random_bytes(32)
        revealed = Revealed(x25519_public(link_private), keystore.device.device_id, keystore.device_key)
        commitment = protocol.commitment(revealed.as_bytes())
        link = await self._call("POST", LINKS, json={"commitment": b64(commitment)})
        return LinkRequest(self, keystore, link_private, link["id"])

    async def approve_link(
        self: Device,
        qr_or_link_id: str,
        confirm: Confirm | None = None,
        code: str | None = None,
        timeout: float = LINK_SECONDS,
    ) -> bytes:
        """On an existing device: answers the link request whose QR text was scanned (or whose id
        was picked from `GET /api/keys/links`), checks the new device's values against its
        commitment, shows the short code to `confirm` (or compares it with `code`, as typed from
        the new device's screen), then lists the device and seals the identity key to it. Returns
        the new device's id; LinkRefused (and the link closed) when anything does not check out."""
        if confirm is None and code is None:
            raise ValueError("approving needs confirm= or code=: the person must compare the short codes")
        link, revealed = await _link_for(self, qr_or_link_id)
        link_id = link["id"]
        try:
            link_private = random_bytes(32)
            existing_key = x25519_public(link_private)
            await self._call("POST", f"{LINKS}/{link_id}/answer", json={"existing_key": b64(existing_key)})
            if revealed is None:
                link = await wait_past(self, link_id, "answered", timeout)
                revealed = Revealed.from_bytes(unb64(link["revealed"]))
            protocol.check_commitment(revealed, unb64(link["commitment"]))
            secrets = protocol.derive(link_private, revealed.link_key, revealed, existing_key)
            agreed = secrets.code == code if confirm is None else confirm(secrets.code)
            if inspect.isawaitable(agreed):
                agreed = await agreed
            if not agreed:
                raise LinkRefused("the short codes differ")
            own = await self.keys_of(self.username, fresh=True)
            if own.device_list.device_key(revealed.device_id) is not None:
                raise LinkRefused("a device with this id is listed already")
            device_list = await self.approve((revealed.device_id, revealed.device_key))
            verified = [(user_id, pin.identity_key) for user_id, pin in self._keystore.pins.items() if pin.verified]
            history = backup.newest(self._keystore.history, backup.LINK_HISTORY_ENTRIES)
            payload = protocol.payload_json(self._keystore.identity_seed, device_list, verified, history)
            sealed = protocol.seal_payload(secrets, payload)
            await self._call("POST", f"{LINKS}/{link_id}/seal", json={"sealed": b64(sealed)})
        except LinkRefused:
            await close_quietly(self, link_id)
            raise
        return revealed.device_id
