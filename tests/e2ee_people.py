"""People with end-to-end encryption keys on a real server: Python clients, one per device."""

from __future__ import annotations

from pathlib import Path

from payambar.client import Client
from tests.helpers import PASSWORD, fresh_username


async def person(server, folder: Path, devices: int = 2, prefix: str = "e") -> list[Client]:
    """A new account with `devices` devices: the first makes the identity, each later one is
    approved by the first (as a person does by comparing the link code)."""
    username = fresh_username(prefix)
    first = Client(server.url, folder / f"{username}-0.keys")
    await first.register(username, PASSWORD)
    await first.set_up_device()
    clients = [first]
    for index in range(1, devices):
        clients.append(await linked_device(server, folder, first, index))
    return clients


async def linked_device(server, folder: Path, first: Client, index: int) -> Client:
    device = Client(server.url, folder / f"{first.username}-{index}.keys")
    await device.login(first.username, PASSWORD)
    await device.set_up_device(identity_seed=first.keystore.identity_seed)
    await first.approve(device.device_card())
    await device.publish_prekeys()
    return device


async def close(*groups) -> None:
    for group in groups:
        for client in group:
            await client.close()
