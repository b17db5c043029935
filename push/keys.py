"""The server's VAPID key pair (RFC 8292): from the setting, or generated once and kept on disk."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02

KEY_FILE = "vapid_private_key"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw(private_key: ec.EllipticCurvePrivateKey) -> str:
    return b64url(private_key.private_numbers().private_value.to_bytes(32, "big"))


def load(raw_key: str) -> Vapid02:
    """A signer for a private key given as raw base64url (32 bytes) or PEM; ValueError if neither."""
    try:
        if raw_key.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(raw_key.encode(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError("not a P-256 key")
            return Vapid02(key)
        if len(b64url_decode(raw_key)) != 32:
            raise ValueError("not 32 bytes")
        return Vapid02.from_raw(raw_key.encode())
    except Exception as error:
        raise ValueError(f"VAPID_PRIVATE_KEY is not a P-256 private key ({error})") from None


def public_key(signer: Vapid02) -> str:
    """The public key as browsers take it for applicationServerKey: base64url, uncompressed point."""
    point = signer.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(point)


def vapid_private_key(given: str, data_dir: Path) -> str:
    """The private key, raw base64url: the given one, else the one kept in data_dir, else ""."""
    given = given.strip()
    if given:
        return _raw(load(given).private_key)
    try:
        return (data_dir / KEY_FILE).read_text().strip()
    except FileNotFoundError:
        return ""


def new_vapid_key() -> str:
    """A fresh P-256 private key, raw base64url."""
    return _raw(ec.generate_private_key(ec.SECP256R1()))
