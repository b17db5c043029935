"""A Payambar client for scripts: an account, one device's keys, and end-to-end encrypted chats.

client = Client("https://chat.example", Path("bot.keys"))
await client.login("bot", "password")         # or register(...)
await client.set_up_device()                  # keys made (or loaded) and published
sent = await client.send_text("sara", "سلام")
for message in await client.history("sara"):
    print(message.sender, message.text)
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from payambar.client import linking
from payambar.client import media as files
from payambar.client.directory import IdentityChanged, KeysRejected, PeerKeys, one_time_prekey, verify
from payambar.client.errors import ApiFailed, PeerNotEncrypted
from payambar.client.keystore import Keystore
from payambar.e2ee import backup, keys
from payambar.e2ee import envelope as env
from payambar.e2ee.link import LinkRefused
from payambar.e2ee.primitives import DecryptError, b64, random_bytes, sha256, unb64
from payambar.e2ee.session import Recipient

KEYS_FRESH_SECONDS = 30  # how long a checked directory answer is reused to open messages (sending fetches anew)
REFILL_BELOW = 20
SIGNAL_CLIENT_ID = re.compile(r"call-[0-9a-f]{32}")  # a call signal's client_id: never a message's
BACKUP_ENTRIES = 19_000  # the newest kept in a backup: its base64url stays under the server's 1 MiB
BACKUP_TRIES = 4  # puts a backup tries when other devices keep writing it meanwhile


def _addressed_to(data: bytes, device_id: bytes) -> bool:
    """Whether the envelope has an entry for this device (False for bytes that are not one)."""
    try:
        return device_id in env.parse(data).recipients
    except env.BadEnvelope:
        return False


__all__ = ["Client", "ApiFailed", "IdentityChanged", "KeysRejected", "LinkRefused", "PeerNotEncrypted", "Received"]


@dataclass
class Received:
    """A message as this device reads it. `text` is None when it could not be decrypted."""

    id: int
    sender: str
    recipient: str
    client_id: str
    encrypted: bool
    inner: dict | None
    error: str | None
    raw: dict

    @property
    def text(self) -> str | None:
        return None if self.inner is None else self.inner.get("text")

    @property
    def kind(self) -> str | None:
        return None if self.inner is None else self.inner.get("kind")


class Client(linking.Linking):
    def __init__(self, base_url: str, keystore_path: Path | None = None, http: httpx.AsyncClient | None = None):
        self.http = http or httpx.AsyncClient(base_url=base_url, timeout=70)
        self.keystore_path = Path(keystore_path) if keystore_path else None
        self.keystore: Keystore | None = None
        self.token: str | None = None
        self.user: dict | None = None
        self._directory: dict[str, tuple[float, PeerKeys]] = {}
        self._user_ids: dict[str, int] = {}

    @property
    def _keystore(self) -> Keystore:
        """This device's keys, for what needs them (None in `keystore` before set_up_device or a link)."""
        if self.keystore is None:
            raise RuntimeError("this device has no keys yet: set_up_device (or link) first")
        return self.keystore

    @property
    def username(self) -> str:
        return self._signed_in_user["username"]

    @property
    def user_id(self) -> int:
        return self._signed_in_user["id"]

    @property
    def _signed_in_user(self) -> dict:
        if self.user is None:
            raise RuntimeError("not signed in: register or login first")
        return self.user

    async def close(self) -> None:
        await self.http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON (None for an empty answer); ApiFailed for an error."""
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        response = await self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 400:
            raise ApiFailed(response)
        return response.json() if response.content else None

    # ---- account and device ----------------------------------------------------------------

    async def register(self, username: str, password: str) -> dict:
        return self._signed_in(
            await self._call("POST", "/api/auth/register", json={"username": username, "password": password})
        )

    async def login(self, username: str, password: str) -> dict:
        return self._signed_in(
            await self._call("POST", "/api/auth/login", json={"username": username, "password": password})
        )

    def _signed_in(self, session: dict) -> dict:
        self.token, self.user = session["token"], session["user"]
        self._user_ids[self.username.lower()] = self.user_id
        return session["user"]

    async def set_up_device(self, identity_seed: bytes | None = None) -> None:
        """Loads this device's keys, or makes them and publishes them: a new identity whose list
        holds this device alone, or (identity_seed from an approving device) keys for `approve`."""
        if self.keystore_path and self.keystore_path.exists():
            self.keystore = Keystore.load(self.keystore_path)
            return
        self.keystore = Keystore.new_device(self.user_id, identity_seed, self.keystore_path)
        if identity_seed is None:
            await self._publish_list([self.device_card()])
            await self.publish_prekeys()

    def device_card(self) -> tuple[bytes, bytes]:
        """(device id, device key): what a new device shows the device that approves it."""
        return self._keystore.device.device_id, self._keystore.device_key

    async def _publish_list(self, devices, reset: bool = False) -> keys.DeviceList:
        published = await self._own_list_version()
        device_list = self._keystore.sign_device_list(devices, published)
        self._keystore.save()
        await self._call("PUT", "/api/keys/device-list", json=device_list.as_json() | {"reset": reset})
        self._directory.clear()
        return device_list

    async def _own_list_version(self) -> int:
        try:
            answer = await self._call("GET", f"/api/users/{self.username}/keys")
        except ApiFailed as error:
            if error.code == "no_keys":
                return 0
            raise
        return verify(self._keystore, answer).device_list.version

    async def publish_prekeys(self) -> None:
        """This device's bundle, and one-time prekeys topped up."""
        device_id = b64(self._keystore.device.device_id)
        await self._call("PUT", f"/api/keys/devices/{device_id}", json=self._keystore.bundle().as_json())
        status = await self._call("GET", f"/api/keys/devices/{device_id}")
        if status["one_time_prekeys"] < REFILL_BELOW:
            batch = self._keystore.new_one_time_prekeys()
            self._keystore.save()
            await self._call("POST", f"/api/keys/devices/{device_id}/one-time-prekeys", json={"prekeys": batch})

    async def approve(self, card: tuple[bytes, bytes]) -> keys.DeviceList:
        """Adds a new device of this person to the signed list (after the person compared its code);
        the list published. `approve_link` does this with the card the link carried."""
        own = await self.keys_of(self.username, fresh=True)
        devices = {device_id: key for device_id, key in own.device_list.devices}
        devices[card[0]] = card[1]
        return await self._publish_list(sorted(devices.items()))

    async def remove_device(self, device_id: bytes) -> None:
        own = await self.keys_of(self.username, fresh=True)
        await self._publish_list([d for d in own.device_list.devices if d[0] != device_id])

    def accept_identity(self, user_id: int) -> None:
        """Accepts a person's new identity key (after IdentityChanged): old pins and sessions go."""
        self._keystore.pins.pop(user_id, None)
        for key in [key for key in self._keystore.device.sessions if key[0] == user_id]:
            del self._keystore.device.sessions[key]
        self._keystore.save()
        self._directory.clear()

    def safety_number(self, username: str) -> str:
        from payambar.e2ee.safety import safety_number

        peer_id = self._user_ids[username.lower()]
        return safety_number(
            self.user_id, self._keystore.identity_key, peer_id, self._keystore.pins[peer_id].identity_key
        )

    # ---- keys of others ----------------------------------------------------------------------

    async def keys_of(self, username: str, fresh: bool = False) -> PeerKeys:
        """A person's checked keys (IdentityChanged / KeysRejected when they do not check out)."""
        cached = self._directory.get(username.lower())
        if cached and not fresh and time.monotonic() - cached[0] < KEYS_FRESH_SECONDS:
            return cached[1]
        peer = verify(self._keystore, await self._call("GET", f"/api/users/{username}/keys"))
        self._keystore.save()
        self._directory[username.lower()] = (time.monotonic(), peer)
        self._user_ids[username.lower()] = peer.user_id
        return peer

    async def _recipients(self, username: str, peer: PeerKeys) -> list[Recipient]:
        own = peer if username.lower() == self.username.lower() else await self.keys_of(self.username, fresh=True)
        targets = [(username, peer)] + ([(self.username, own)] if own is not peer else [])
        recipients = []
        for name, person in targets:
            recipients += await self._devices_of(name, person)
        return recipients

    async def _devices_of(self, name: str, person: PeerKeys, only: list[bytes] | None = None) -> list[Recipient]:
        """A recipient for every device of the person with a bundle but this one (a prekey bundle
        claimed for those without a session); `only` narrows them."""
        recipients = []
        for device_id in person.bundles:
            if device_id == self._keystore.device.device_id or (only is not None and device_id not in only):
                continue
            if self._keystore.device.has_session(person.user_id, device_id):
                recipients.append(Recipient(person.user_id, device_id))
                continue
            device_key = person.device_list.device_key(device_id)
            if device_key is None:  # never so: the directory keeps only the bundles of listed devices
                raise KeysRejected("a bundle of a device the signed list does not hold")
            claimed = await self._call("POST", f"/api/users/{name}/keys/{b64(device_id)}/claim")
            try:
                bundle = keys.parse_bundle(claimed["bundle"], person.user_id, device_key)
            except keys.BadKeys as error:
                raise KeysRejected(f"claimed bundle: {error}") from None
            one_time = one_time_prekey(claimed["one_time_prekey"], person.user_id, device_id, device_key)
            recipients.append(Recipient(person.user_id, device_id, bundle, one_time))
        return recipients

    # ---- sending -----------------------------------------------------------------------------

    async def send_text(self, username: str, text: str, reply_to: int | None = None, allow_plaintext=False) -> dict:
        inner = {"v": 1, "kind": "text", "text": text, "sent_at": int(time.time() * 1000)}
        if reply_to is not None:
            inner["reply_to"] = reply_to
        return await self.send(username, inner, allow_plaintext=allow_plaintext)

    async def send(self, username: str, inner: dict, allow_plaintext: bool = False) -> dict:
        """Seals inner for every device of the person and every other device of ours; a person
        without keys gets plaintext only with allow_plaintext (never silently)."""
        client_id = uuid.uuid4().hex
        try:
            peer = await self.keys_of(username, fresh=True)
        except ApiFailed as error:
            if error.code != "no_keys":
                raise
            if not allow_plaintext or inner.get("kind") != "text":
                raise PeerNotEncrypted(f"{username} has no end-to-end encryption keys") from None
            return await self._call(
                "POST", "/api/messages", json={"to": username, "client_id": client_id, "text": inner["text"]}
            )
        envelope = await self._seal(username, peer, inner, client_id)
        return await self._call(
            "POST", "/api/messages", json={"to": username, "client_id": client_id, "envelope": envelope}
        )

    async def _seal(self, username: str, peer: PeerKeys, inner: dict, client_id: str) -> str:
        recipients = await self._recipients(username, peer)
        if not recipients:
            raise KeysRejected(f"{username} has no device with a published bundle")
        content_key = random_bytes(32)
        data = self._keystore.device.seal(peer.user_id, recipients, inner, client_id, {"content_key": content_key})
        self._keystore.sent[client_id] = inner
        self._keystore.sent_keys[client_id] = content_key
        self._keystore.save()
        return b64(data)

    # ---- call signals (docs/calls.md, "Signals are envelopes") --------------------------------

    async def seal_signal(
        self, username: str, call_id: str | None, signal: dict, only: list[bytes] | None = None
    ) -> str:
        """A call signal sealed for the person's devices (`only`: device ids; None: all of them),
        for none of ours and not kept as sent: the text a call frame's `signal` carries."""
        peer = await self.keys_of(username)
        if peer.user_id == self.user_id:
            raise KeysRejected("a call is between two people")
        recipients = await self._devices_of(username, peer, only)
        if not recipients:
            raise KeysRejected(f"{username} has no device to seal the call for")
        client_id = f"call-{uuid.uuid4().hex}"
        sent_at = int(time.time() * 1000)
        inner = {"v": 1, "kind": "call-signal", "call_id": call_id, "signal": signal, "sent_at": sent_at}
        data = self._keystore.device.seal(peer.user_id, recipients, inner, client_id)
        self._keystore.save()
        return orjson.dumps({"v": 1, "client_id": client_id, "envelope": b64(data)}).decode()

    async def open_signal(self, username: str, text: str) -> tuple[dict, bytes]:
        """A call frame's signal from `username`, opened: (inner, the sending device's id).
        DecryptError for anything that is not a call-signal envelope for this device."""
        try:
            wrapper = orjson.loads(text)
            client_id, data = wrapper["client_id"], unb64(wrapper["envelope"])
            if wrapper.get("v") != 1 or not SIGNAL_CLIENT_ID.fullmatch(client_id) or len(data) < 9:
                raise ValueError("not a signal")
        except (ValueError, TypeError, KeyError) as error:
            raise DecryptError(f"the signal is not an envelope ({error})") from None
        cache_key = f"signal:{sha256(data)[:12].hex()}"
        if cache_key in self._keystore.opened:
            return self._keystore.opened[cache_key], data[1:9]
        sender = await self.keys_of(username)
        sender_dh = self._keystore.pins[sender.user_id].seen_devices.get(data[1:9])
        if sender_dh is None:
            sender = await self.keys_of(username, fresh=True)
            sender_dh = self._keystore.pins[sender.user_id].seen_devices.get(data[1:9])
        if sender_dh is None or sender.user_id == self.user_id:
            raise DecryptError("not sent by a listed device of the other person")
        opened = self._keystore.device.open(data, sender.user_id, self.user_id, client_id, sender_dh)
        if opened.inner.get("kind") != "call-signal" or not isinstance(opened.inner.get("signal"), dict):
            self._keystore.save()
            raise DecryptError("the envelope is not a call signal")
        self._keystore.opened[cache_key] = opened.inner
        self._keystore.save()
        return opened.inner, data[1:9]

    async def edit_text(self, message: dict, text: str) -> dict:
        """A new envelope for one of our messages (same client_id, kind edit)."""
        username = message["recipient"]
        inner = {"v": 1, "kind": "edit", "text": text, "sent_at": int(time.time() * 1000)}
        peer = await self.keys_of(username, fresh=True)
        envelope = await self._seal(username, peer, inner, message["client_id"])
        return await self._call("PATCH", f"/api/messages/{message['id']}", json={"envelope": envelope})

    async def send_file(self, username: str, source, name=None, mime=None, caption=None, **more) -> dict:
        """Seals a file (bytes or a path), uploads it and sends its key in an envelope (client/media.py)."""
        return await files.send_file(self, username, source, name=name, mime=mime, caption=caption, **more)

    async def download(self, received: Received) -> bytes:
        """The bytes of a received file, digest checked and opened (DecryptError when they are not)."""
        return await files.download(self, received)

    # ---- reading -----------------------------------------------------------------------------

    async def history(self, username: str, limit: int = 100) -> list[Received]:
        page = await self._call("GET", f"/api/conversations/{username}/messages", params={"limit": limit})
        return [await self.open(message) for message in page["messages"]]

    async def updates(
        self, after: int | None = None, timeout: int = 25
    ) -> tuple[list[tuple[dict, Received | None]], int]:
        """One long-poll of the update stream: (update, its message as read) pairs and the cursor."""
        params = {"timeout": timeout} | ({} if after is None else {"after": after})
        answer = await self._call("GET", "/api/updates", params=params)
        opened = []
        for update in answer["updates"]:
            message = update.get("message")
            opened.append((update, None if message is None else await self.open(message)))
        return opened, answer["cursor"]

    async def open(self, message: dict) -> Received:
        """A message object as this device reads it; any failure is an error, never text."""
        envelope = message.get("envelope")
        base = (message["id"], message["sender"], message["recipient"], message["client_id"])
        if envelope is None:
            inner = None if message["deleted"] else {"v": 1, "kind": "text", "text": message["text"]}
            return Received(*base, False, inner, None, message)
        try:
            inner = await self._open_envelope(message, unb64(envelope))
        except (DecryptError, KeysRejected, IdentityChanged, ApiFailed, ValueError) as error:
            return Received(*base, True, None, f"could not be decrypted ({error})", message)
        return Received(*base, True, inner, None, message)

    async def _open_envelope(self, message: dict, data: bytes) -> dict:
        cache_key = f"{message['id']}:{sha256(data)[:12].hex()}"
        store = self._keystore
        if cache_key in store.opened:
            return store.opened[cache_key]
        kept = store.history.get(message["id"])
        key_first = kept is not None and not _addressed_to(data, store.device.device_id)
        inner = await self._open_with_key(message, data, kept) if kept is not None and key_first else None
        content_key = kept
        if inner is None:
            try:
                inner, content_key = await self._open_with_ratchet(message, data)
            except DecryptError:
                if kept is None or key_first or (inner := await self._open_with_key(message, data, kept)) is None:
                    raise  # no kept key, or it was tried first
                content_key = kept
        if content_key:
            store.history[message["id"]] = content_key
        store.opened[cache_key] = inner
        store.save()
        return inner

    async def _open_with_ratchet(self, message: dict, data: bytes) -> tuple[dict, bytes | None]:
        sender, recipient = message["sender"], message["recipient"]
        sender_keys = await self.keys_of(sender)
        recipient_id = await self._user_id(recipient)
        parsed_sender = data[1:9]
        if sender_keys.user_id == self.user_id and parsed_sender == self._keystore.device.device_id:
            inner = self._keystore.sent.get(message["client_id"])
            if inner is None:
                raise DecryptError("sent from this device, but not kept here")
            return inner, self._keystore.sent_keys.get(message["client_id"])
        sender_dh = self._keystore.pins[sender_keys.user_id].seen_devices.get(parsed_sender)
        if sender_dh is None:  # a device listed since we last looked?
            sender_keys = await self.keys_of(sender, fresh=True)
            sender_dh = self._keystore.pins[sender_keys.user_id].seen_devices.get(parsed_sender)
        if sender_dh is None:
            raise DecryptError("sent by a device never listed by its person")
        opened = self._keystore.device.open(data, sender_keys.user_id, recipient_id, message["client_id"], sender_dh)
        return opened.inner, opened.content_key

    async def _open_with_key(self, message: dict, data: bytes, content_key: bytes) -> dict | None:
        """The body opened with a content key from history (§14), or None when it does not open."""
        try:
            envelope = env.parse(data)
        except env.BadEnvelope:
            return None
        sender_id = await self._user_id(message["sender"])
        peer_id = await self._user_id(message["recipient"])
        associated = env.associated_data(
            sender_id, peer_id, envelope.sender_device, envelope.recipients, envelope.counter, message["client_id"]
        )
        try:
            return env.open_body(content_key, envelope.nonce, envelope.body, associated)
        except DecryptError:
            return None

    # ---- history under a recovery key (docs/e2ee.md §14) --------------------------------------

    async def _stored_backup(self) -> dict | None:
        try:
            return await self._call("GET", "/api/keys/backup")
        except ApiFailed as error:
            if error.code == "backup_not_found":
                return None
            raise

    async def back_up(self, recovery_key: bytes) -> int:
        """Merges this device's history into the person's backup under the key and puts it back
        (again when another device wrote meanwhile); answers the entries it holds. DecryptError
        when the stored backup is under another key."""
        attempt = 0
        while True:
            attempt += 1
            stored = await self._stored_backup()
            merged = backup.open_backup(recovery_key, self.user_id, unb64(stored["sealed"])) if stored else {}
            merged.update(self._keystore.history)
            try:
                return await self._put_backup(recovery_key, merged, stored)
            except ApiFailed as error:
                if error.code != "stale_version" or attempt == BACKUP_TRIES:
                    raise

    async def _put_backup(self, recovery_key: bytes, history: dict[int, bytes], stored: dict | None) -> int:
        kept = backup.newest(history, BACKUP_ENTRIES)
        sealed = backup.seal_backup(recovery_key, self.user_id, kept)
        body = {"replaces": stored["version"] if stored else 0, "sealed": b64(sealed)}
        await self._call("PUT", "/api/keys/backup", json=body)
        return len(kept)

    async def set_up_recovery(self) -> str:
        """A new recovery key, this device's history backed up under it; its written form (show
        it once; it is never sent anywhere). A backup under an older key is replaced."""
        recovery_key = backup.new_recovery_key()
        await self._put_backup(recovery_key, dict(self._keystore.history), await self._stored_backup())
        return backup.format_recovery_key(recovery_key)

    async def restore(self, written: str) -> int:
        """History from the backup with a typed recovery key: BadRecoveryKey for a typo, DecryptError
        when the key does not open this person's backup (nothing kept); answers how many it holds."""
        recovery_key = backup.parse_recovery_key(written)
        stored = await self._stored_backup()
        if stored is None:
            raise DecryptError("there is no backup to restore")
        history = backup.open_backup(recovery_key, self.user_id, unb64(stored["sealed"]))
        self._keystore.history.update(history)
        self._keystore.save()
        return len(history)

    async def _user_id(self, username: str) -> int:
        known = self._user_ids.get(username.lower())
        return known if known is not None else (await self.keys_of(username)).user_id
