"""Checking what the key directory hands out before anything is sealed to it: every signature,
the owner, the version (no rollback) and the identity key this device accepted before."""

from __future__ import annotations

from dataclasses import dataclass

from payambar.client.keystore import Keystore, Pin
from payambar.e2ee import keys
from payambar.e2ee.primitives import unb64


class KeysRejected(Exception):
    """The directory's answer does not verify: a forged or rolled-back list, a bad bundle."""


class IdentityChanged(Exception):
    """A person's device list is signed by another identity key than the one accepted before.
    Nothing is sent to them until `Client.accept_identity` is called."""

    def __init__(self, user_id: int, old: bytes, new: bytes) -> None:
        super().__init__(f"the identity key of user {user_id} changed")
        self.user_id, self.old, self.new = user_id, old, new


@dataclass
class PeerKeys:
    user_id: int
    device_list: keys.DeviceList
    bundles: dict[bytes, keys.Bundle]  # device id -> its verified bundle
    new_devices: list[bytes]  # listed now, never seen listed before (with the same identity)


def verify(keystore: Keystore, answer: dict) -> PeerKeys:
    """The checked keys of GET /api/users/{username}/keys; updates the pin only when all is well."""
    try:
        device_list = keys.parse_device_list(answer.get("device_list"))
    except keys.BadKeys as error:
        raise KeysRejected(f"device list: {error}") from None
    user_id = device_list.user_id
    if answer.get("user_id") != user_id:
        raise KeysRejected("the device list names another person")
    pin = keystore.pins.get(user_id)
    if user_id == keystore.device.user_id and device_list.identity_key != keystore.identity_key:
        raise IdentityChanged(user_id, keystore.identity_key, device_list.identity_key)
    if pin is not None and pin.identity_key != device_list.identity_key:
        raise IdentityChanged(user_id, pin.identity_key, device_list.identity_key)
    if pin is not None and device_list.version < pin.version:
        raise KeysRejected(f"the device list went back from version {pin.version} to {device_list.version}")
    bundles = {}
    for body in answer.get("bundles") or []:
        try:
            device_id = unb64(body["device_id"])
            device_key = device_list.device_key(device_id)
            if device_key is None:
                continue  # a bundle of a device no longer listed is never used
            bundles[device_id] = keys.parse_bundle(body, user_id, device_key)
        except (keys.BadKeys, KeyError, TypeError, ValueError) as error:
            raise KeysRejected(f"bundle: {error}") from None
    pin = pin or Pin(device_list.identity_key, 0)
    new_devices = [device_id for device_id in bundles if device_id not in pin.seen_devices]
    pin.version = device_list.version
    for device_id, bundle in bundles.items():
        pin.seen_devices[device_id] = bundle.identity_dh
    keystore.pins[user_id] = pin
    return PeerKeys(user_id, device_list, bundles, new_devices)


def one_time_prekey(answer: dict | None, user_id: int, device_id: bytes, device_key: bytes) -> tuple[int, bytes] | None:
    """A claimed one-time prekey, its signature checked; None when the device had none left."""
    if answer is None:
        return None
    try:
        key_id, key, _ = keys.parse_one_time(answer, user_id, device_id, device_key)
    except keys.BadKeys as error:
        raise KeysRejected(f"one-time prekey: {error}") from None
    return key_id, key
