"""The hybrid handshake (X25519 + ML-KEM-768, after Signal's PQXDH): a root key from a device's bundle."""

from __future__ import annotations

from payambar.e2ee.primitives import hkdf, mlkem_decapsulate, x25519

HANDSHAKE_INFO = b"payambar/pqxdh/v1/x25519-mlkem768-sha256"
CURVE_PREFIX = b"\xff" * 32  # as in X3DH: keeps the input from ever starting like a bare DH output
ZERO_SALT = b"\x00" * 32


def root_key(dh1: bytes, dh2: bytes, dh3: bytes, dh4: bytes | None, kem_secret: bytes) -> bytes:
    ikm = CURVE_PREFIX + dh1 + dh2 + dh3 + (dh4 or b"") + kem_secret
    return hkdf(ikm, ZERO_SALT, HANDSHAKE_INFO, 32)


def initiator_secret(
    identity_dh_private: bytes,
    ephemeral_private: bytes,
    peer_identity_dh: bytes,
    peer_signed_prekey: bytes,
    peer_one_time_prekey: bytes | None,
    kem_secret: bytes,
) -> bytes:
    """The root key the initiating device derives; kem_secret comes from encapsulating to the peer's
    ML-KEM prekey (the ciphertext goes in the prekey entry)."""
    dh1 = x25519(identity_dh_private, peer_signed_prekey)
    dh2 = x25519(ephemeral_private, peer_identity_dh)
    dh3 = x25519(ephemeral_private, peer_signed_prekey)
    dh4 = x25519(ephemeral_private, peer_one_time_prekey) if peer_one_time_prekey else None
    return root_key(dh1, dh2, dh3, dh4, kem_secret)


def responder_secret(
    identity_dh_private: bytes,
    signed_prekey_private: bytes,
    one_time_prekey_private: bytes | None,
    pq_seed: bytes,
    peer_identity_dh: bytes,
    peer_ephemeral: bytes,
    kem_ciphertext: bytes,
) -> bytes:
    dh1 = x25519(signed_prekey_private, peer_identity_dh)
    dh2 = x25519(identity_dh_private, peer_ephemeral)
    dh3 = x25519(signed_prekey_private, peer_ephemeral)
    dh4 = x25519(one_time_prekey_private, peer_ephemeral) if one_time_prekey_private else None
    return root_key(dh1, dh2, dh3, dh4, mlkem_decapsulate(pq_seed, kem_ciphertext))
