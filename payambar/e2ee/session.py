"""One device's side of the protocol: its secrets, its sessions with other devices, and sealing and
opening envelopes with them. Plain data in, plain data out; storage and the network are the caller's."""

from __future__ import annotations

from dataclasses import dataclass, field

from payambar.e2ee import envelope as env
from payambar.e2ee.handshake import initiator_secret, responder_secret
from payambar.e2ee.keys import Bundle
from payambar.e2ee.primitives import (
    DecryptError,
    b64,
    mlkem_encapsulate,
    random_bytes,
    unb64,
    x25519_public,
)
from payambar.e2ee.ratchet import Ratchet, open_with, seal_with

SESSIONS_PER_DEVICE = 5  # older sessions with one device are forgotten
REPLAY_WINDOW = 2000


@dataclass
class Session:
    ratchet: Ratchet
    associated: bytes  # initiator's identity_dh || responder's identity_dh
    prekey: env.Prekey | None  # repeated in every entry until the other device answers
    ephemeral: bytes | None  # the initiator's ephemeral key: how a repeated prekey entry finds its session

    def as_json(self) -> dict:
        prekey = self.prekey
        return {
            "ratchet": self.ratchet.as_json(),
            "associated": b64(self.associated),
            "prekey": b64(prekey.to_bytes()) if prekey else None,
            "ephemeral": b64(self.ephemeral) if self.ephemeral else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> Session:
        prekey = None
        if data["prekey"]:
            raw = unb64(data["prekey"])
            ids = [int.from_bytes(raw[32 + 4 * i : 36 + 4 * i], "big") for i in range(3)]
            prekey = env.Prekey(raw[:32], ids[0], ids[1], ids[2], raw[44:])
        ephemeral = unb64(data["ephemeral"]) if data["ephemeral"] else None
        return cls(Ratchet.from_json(data["ratchet"]), unb64(data["associated"]), prekey, ephemeral)


@dataclass(frozen=True)
class Recipient:
    user_id: int
    device_id: bytes
    bundle: Bundle | None = None  # needed only when no session exists yet
    one_time: tuple[int, bytes] | None = None  # a claimed one-time prekey (id, public)


@dataclass(frozen=True)
class Opened:
    inner: dict
    sender_user: int
    sender_device: bytes
    counter: int
    content_key: bytes = b""  # what a device keeps to open the message again (docs/e2ee.md §14)


@dataclass
class DeviceState:
    user_id: int
    device_id: bytes
    device_seed: bytes  # Ed25519
    identity_dh_private: bytes  # X25519, long-term
    signed_prekeys: dict[int, bytes] = field(default_factory=dict)  # id -> X25519 private
    pq_prekeys: dict[int, bytes] = field(default_factory=dict)  # id -> ML-KEM-768 seed
    one_time_prekeys: dict[int, bytes] = field(default_factory=dict)
    counter: int = 0
    sessions: dict[tuple[int, bytes], list[Session]] = field(default_factory=dict)  # active first
    seen: dict[tuple[int, bytes], list[int]] = field(default_factory=dict)  # accepted counters

    @property
    def identity_dh(self) -> bytes:
        return x25519_public(self.identity_dh_private)

    def has_session(self, user_id: int, device_id: bytes) -> bool:
        return bool(self.sessions.get((user_id, device_id)))

    def seal(self, peer_user: int, recipients: list[Recipient], inner: dict, client_id: str, fixed=None) -> bytes:
        """The envelope bytes of inner for every recipient device. `fixed` supplies the random values
        (content_key, nonce, and per device: ephemeral, ratchet, kem) for test vectors; a caller
        that keeps the message's content key (docs/e2ee.md §14) passes a fresh random one."""
        fixed = fixed or {}
        recipients = sorted(recipients, key=lambda r: r.device_id)
        self.counter += 1
        ids = [r.device_id for r in recipients]
        associated = env.associated_data(self.user_id, peer_user, self.device_id, ids, self.counter, client_id)
        content_key = fixed.get("content_key") or random_bytes(32)
        nonce = fixed.get("nonce") or random_bytes(env.NONCE_BYTES)
        entries = []
        for recipient in recipients:
            session = self._sending_session(recipient, fixed.get(recipient.device_id, {}))
            ratchet_key, previous, number, message_key = session.ratchet.next_send_key()
            entry = env.Entry(recipient.device_id, session.prekey, ratchet_key, previous, number, b"")
            wrapped = seal_with(message_key, content_key, associated + session.associated + entry.header())
            entries.append(env.Entry(recipient.device_id, session.prekey, ratchet_key, previous, number, wrapped))
        body = env.seal_body(content_key, nonce, inner, associated)
        return env.Envelope(self.device_id, self.counter, tuple(entries), nonce, body).to_bytes()

    def _sending_session(self, recipient: Recipient, fixed: dict) -> Session:
        existing = self.sessions.get((recipient.user_id, recipient.device_id))
        if existing:
            return existing[0]
        bundle = recipient.bundle
        if bundle is None:
            raise DecryptError("no session and no bundle for a recipient device")
        ephemeral_private = fixed.get("ephemeral") or random_bytes(32)
        if "kem" in fixed:
            kem_secret, kem_ciphertext = fixed["kem"]
        else:
            kem_secret, kem_ciphertext = mlkem_encapsulate(bundle.pq_prekey)
        one_time_id, one_time_key = recipient.one_time or (0, None)
        root = initiator_secret(
            self.identity_dh_private,
            ephemeral_private,
            bundle.identity_dh,
            bundle.signed_prekey,
            one_time_key,
            kem_secret,
        )
        ephemeral = x25519_public(ephemeral_private)
        prekey = env.Prekey(ephemeral, bundle.signed_prekey_id, bundle.pq_prekey_id, one_time_id, kem_ciphertext)
        ratchet = Ratchet.initiator(root, bundle.signed_prekey, fixed.get("ratchet"))
        session = Session(ratchet, self.identity_dh + bundle.identity_dh, prekey, ephemeral)
        self._remember(recipient.user_id, recipient.device_id, session)
        return session

    def _remember(self, user_id: int, device_id: bytes, session: Session) -> None:
        sessions = [s for s in self.sessions.get((user_id, device_id), []) if s is not session]
        self.sessions[(user_id, device_id)] = [session, *sessions][:SESSIONS_PER_DEVICE]

    def open(
        self,
        data: bytes,
        sender_user: int,
        peer_user: int,
        client_id: str,
        sender_identity_dh: bytes,
        next_private: bytes | None = None,
    ) -> Opened:
        """The inner message of an envelope sent by sender_user in the chat with peer_user (for the
        sender's own devices peer_user is the other person). sender_identity_dh is the sending device's
        long-term X25519 key from its verified bundle; next_private fixes the next ratchet key (test
        vectors only). DecryptError leaves every state unchanged."""
        try:
            envelope = env.parse(data)
        except env.BadEnvelope as error:
            raise DecryptError(str(error)) from None
        entry = envelope.entry_for(self.device_id)
        if entry is None:
            raise DecryptError("the envelope is not for this device")
        key = (sender_user, envelope.sender_device)
        if self._replayed(key, envelope.counter):
            raise DecryptError("a replayed envelope")
        associated = env.associated_data(
            sender_user, peer_user, envelope.sender_device, envelope.recipients, envelope.counter, client_id
        )
        for session, is_new in self._candidates(key, entry, sender_identity_dh):
            try:
                ratchet, message_key = session.ratchet.receive_key(
                    entry.ratchet_key, entry.previous, entry.number, next_private
                )
                content_key = open_with(message_key, entry.wrapped, associated + session.associated + entry.header())
                inner = env.open_body(content_key, envelope.nonce, envelope.body, associated)
            except DecryptError:
                continue
            session.ratchet = ratchet
            if entry.prekey is None:
                session.prekey = None  # the other device answered: it has the session
            elif is_new and entry.prekey.one_time_prekey_id:
                self.one_time_prekeys.pop(entry.prekey.one_time_prekey_id, None)
            self._remember(*key, session)
            self._accept(key, envelope.counter)
            return Opened(inner, sender_user, envelope.sender_device, envelope.counter, content_key)
        raise DecryptError("no session opens this entry")

    def _candidates(self, key, entry: env.Entry, sender_identity_dh: bytes):
        known = self.sessions.get(key, [])
        if entry.prekey is None:
            return [(session, False) for session in known]
        same = [s for s in known if s.ephemeral == entry.prekey.ephemeral and s.prekey is None]
        if same:
            return [(same[0], False)]
        return [(self._responder_session(entry.prekey, sender_identity_dh), True)]

    def _responder_session(self, prekey: env.Prekey, sender_identity_dh: bytes) -> Session:
        signed = self.signed_prekeys.get(prekey.signed_prekey_id)
        pq = self.pq_prekeys.get(prekey.pq_prekey_id)
        one_time = self.one_time_prekeys.get(prekey.one_time_prekey_id) if prekey.one_time_prekey_id else None
        if signed is None or pq is None or (prekey.one_time_prekey_id and one_time is None):
            raise DecryptError("the prekeys this entry names are gone")
        root = responder_secret(
            self.identity_dh_private,
            signed,
            one_time,
            pq,
            sender_identity_dh,
            prekey.ephemeral,
            prekey.kem_ciphertext,
        )
        return Session(Ratchet.responder(root, signed), sender_identity_dh + self.identity_dh, None, prekey.ephemeral)

    def _replayed(self, key, counter: int) -> bool:
        seen = self.seen.get(key, [])
        return counter in seen or (len(seen) >= REPLAY_WINDOW and counter < seen[0])

    def _accept(self, key, counter: int) -> None:
        self.seen[key] = sorted([*self.seen.get(key, []), counter])[-REPLAY_WINDOW:]
