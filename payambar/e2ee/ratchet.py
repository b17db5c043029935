"""The Double Ratchet between two devices: X25519 DH ratchet, HKDF-SHA256 root chain, HMAC-SHA256 chains.

A state is changed only by a message that verifies: `decrypt` works on a copy and the caller keeps
the copy only when the wrapped key opened, so a tampered, replayed or foreign entry leaves it as it was.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from payambar.e2ee.primitives import (
    DecryptError,
    aes_gcm_open,
    aes_gcm_seal,
    b64,
    hkdf,
    hmac_sha256,
    random_bytes,
    unb64,
    x25519,
    x25519_public,
)

RATCHET_INFO = b"payambar/ratchet/v1"
WRAP_INFO = b"payambar/wrap/v1"
MAX_SKIP = 1000  # message keys one header may make a device skip
MAX_SKIPPED = 2000  # skipped keys a session keeps; the oldest go first
ZERO_SALT = b"\x00" * 32


def kdf_root(root: bytes, dh_output: bytes) -> tuple[bytes, bytes]:
    out = hkdf(dh_output, root, RATCHET_INFO, 64)
    return out[:32], out[32:]


def kdf_chain(chain: bytes) -> tuple[bytes, bytes]:
    """(next chain key, message key)."""
    return hmac_sha256(chain, b"\x02"), hmac_sha256(chain, b"\x01")


def wrap_key_and_nonce(message_key: bytes) -> tuple[bytes, bytes]:
    out = hkdf(message_key, ZERO_SALT, WRAP_INFO, 44)
    return out[:32], out[32:]


def seal_with(message_key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    key, nonce = wrap_key_and_nonce(message_key)
    return aes_gcm_seal(key, nonce, plaintext, associated)


def open_with(message_key: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    key, nonce = wrap_key_and_nonce(message_key)
    return aes_gcm_open(key, nonce, ciphertext, associated)


@dataclass
class Ratchet:
    root: bytes
    send_private: bytes
    receive_public: bytes | None
    send_chain: bytes | None = None
    receive_chain: bytes | None = None
    sent: int = 0  # Ns
    received: int = 0  # Nr
    previous: int = 0  # PN
    skipped: dict[tuple[bytes, int], bytes] = field(default_factory=dict)

    @classmethod
    def initiator(cls, root: bytes, peer_signed_prekey: bytes, ratchet_private: bytes | None = None) -> Ratchet:
        private = ratchet_private or random_bytes(32)
        root, send_chain = kdf_root(root, x25519(private, peer_signed_prekey))
        return cls(root, private, peer_signed_prekey, send_chain)

    @classmethod
    def responder(cls, root: bytes, signed_prekey_private: bytes) -> Ratchet:
        return cls(root, signed_prekey_private, None)

    @property
    def send_public(self) -> bytes:
        return x25519_public(self.send_private)

    def next_send_key(self) -> tuple[bytes, int, int, bytes]:
        """(ratchet public key, PN, N, message key) for the next message sent; advances the chain."""
        if self.send_chain is None:
            raise DecryptError("this session has not received a message to answer yet")
        self.send_chain, message_key = kdf_chain(self.send_chain)
        number = self.sent
        self.sent += 1
        return self.send_public, self.previous, number, message_key

    def receive_key(
        self, ratchet_public: bytes, previous: int, number: int, next_private: bytes | None = None
    ) -> tuple[Ratchet, bytes]:
        """(the state after, message key) for a header; self is left untouched."""
        state = copy.deepcopy(self)
        found = state.skipped.pop((ratchet_public, number), None)
        if found is not None:
            return state, found
        if ratchet_public != state.receive_public:
            state._skip_to(previous)
            state._turn(ratchet_public, next_private)
        state._skip_to(number)
        if state.receive_chain is None:  # only a stored state that lost its chain gets here
            raise DecryptError("this session has no receiving chain")
        state.receive_chain, message_key = kdf_chain(state.receive_chain)
        state.received += 1
        return state, message_key

    def _skip_to(self, until: int) -> None:
        if self.receive_chain is None:
            return
        if self.receive_public is None:
            raise DecryptError("a receiving chain without its ratchet key")
        if until - self.received > MAX_SKIP:
            raise DecryptError("too many skipped messages")
        while self.received < until:
            self.receive_chain, message_key = kdf_chain(self.receive_chain)
            self.skipped[(self.receive_public, self.received)] = message_key
            self.received += 1
        while len(self.skipped) > MAX_SKIPPED:
            del self.skipped[next(iter(self.skipped))]

    def _turn(self, ratchet_public: bytes, next_private: bytes | None) -> None:
        self.previous, self.sent, self.received = self.sent, 0, 0
        self.receive_public = ratchet_public
        self.root, self.receive_chain = kdf_root(self.root, x25519(self.send_private, ratchet_public))
        self.send_private = next_private or random_bytes(32)
        self.root, self.send_chain = kdf_root(self.root, x25519(self.send_private, ratchet_public))

    def as_json(self) -> dict:
        optional = lambda value: None if value is None else b64(value)  # noqa: E731
        return {
            "root": b64(self.root),
            "send_private": b64(self.send_private),
            "receive_public": optional(self.receive_public),
            "send_chain": optional(self.send_chain),
            "receive_chain": optional(self.receive_chain),
            "sent": self.sent,
            "received": self.received,
            "previous": self.previous,
            "skipped": [[b64(k), n, b64(v)] for (k, n), v in self.skipped.items()],
        }

    @classmethod
    def from_json(cls, data: dict) -> Ratchet:
        optional = lambda value: None if value is None else unb64(value)  # noqa: E731
        return cls(
            unb64(data["root"]),
            unb64(data["send_private"]),
            optional(data["receive_public"]),
            optional(data["send_chain"]),
            optional(data["receive_chain"]),
            data["sent"],
            data["received"],
            data["previous"],
            {(unb64(k), n): unb64(v) for k, n, v in data["skipped"]},
        )
