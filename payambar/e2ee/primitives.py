"""The primitives the protocol uses, each a thin call into `cryptography`; nothing here is hand-made."""

from __future__ import annotations

import base64
import hashlib
import hmac as std_hmac
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MLKEM_PUBLIC_BYTES = 1184
MLKEM_CIPHERTEXT_BYTES = 1088


class DecryptError(Exception):
    """A ciphertext, signature or message that does not verify; the state it was tried on is unchanged."""


def b64(data: bytes) -> str:
    """base64url without padding, the one text form of bytes in JSON."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    if not isinstance(text, str) or "=" in text or not text.isascii():
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


def random_bytes(length: int) -> bytes:
    return os.urandom(length)


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt, info).derive(ikm)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    return std_hmac.new(key, data, hashlib.sha256).digest()


def sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def aes_gcm_seal(key: bytes, nonce: bytes, plaintext: bytes, associated: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce, plaintext, associated)


def aes_gcm_open(key: bytes, nonce: bytes, ciphertext: bytes, associated: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated)
    except InvalidTag:
        raise DecryptError("ciphertext does not verify") from None


def x25519_public(private: bytes) -> bytes:
    return X25519PrivateKey.from_private_bytes(private).public_key().public_bytes_raw()


def x25519(private: bytes, public: bytes) -> bytes:
    try:
        return X25519PrivateKey.from_private_bytes(private).exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:  # a low-order point gives all zeros, which cryptography refuses
        raise DecryptError("bad X25519 public key") from None


def ed25519_public(seed: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_verify(public: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def mlkem_public(seed: bytes) -> bytes:
    """The ML-KEM-768 encapsulation key of a 64-byte seed d || z (FIPS 203 ML-KEM.KeyGen_internal)."""
    return MLKEM768PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw()


def mlkem_encapsulate(public: bytes) -> tuple[bytes, bytes]:
    """(shared secret, ciphertext) for an encapsulation key."""
    try:
        return MLKEM768PublicKey.from_public_bytes(public).encapsulate()
    except ValueError:
        raise DecryptError("bad ML-KEM-768 public key") from None


def mlkem_decapsulate(seed: bytes, ciphertext: bytes) -> bytes:
    try:
        return MLKEM768PrivateKey.from_seed_bytes(seed).decapsulate(ciphertext)
    except ValueError:
        raise DecryptError("bad ML-KEM-768 ciphertext") from None
