"""The Python client for scripts: end-to-end encrypted chats over the JSON API (README, "Scripts")."""

from payambar.client.client import ApiFailed, Client, PeerNotEncrypted, Received
from payambar.client.directory import IdentityChanged, KeysRejected
from payambar.client.keystore import Keystore
from payambar.client.linking import LinkRequest
from payambar.e2ee.link import LinkRefused

__all__ = [
    "ApiFailed",
    "Client",
    "IdentityChanged",
    "Keystore",
    "KeysRejected",
    "LinkRefused",
    "LinkRequest",
    "PeerNotEncrypted",
    "Received",
]
