"""Push endpoints are URLs a user hands the server, which then POSTs to them: each one must be
https on the public internet (not the server's own network), checked when it is registered and
again on every connection, against the addresses the name resolves to at that moment.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

import httpcore

MAX_ENDPOINT_LENGTH = 2048
RESOLVE_TIMEOUT_SECONDS = 5.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EndpointRefused(ValueError):
    """The endpoint is not an https URL of a public address."""


def is_public(address: str) -> bool:
    """Whether an IP address is on the public internet: not private, loopback, link-local,
    multicast, reserved or unspecified, also when an IPv4 address hides inside an IPv6 one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public(str(embedded)):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def host_and_port(endpoint: str, allow_private: bool) -> tuple[str, int]:
    """The endpoint's host and port, or EndpointRefused for anything but a plain https URL."""
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise EndpointRefused(f"endpoint is longer than {MAX_ENDPOINT_LENGTH} characters")
    try:
        url = urlsplit(endpoint)
        port = url.port or 443
    except ValueError:
        raise EndpointRefused("endpoint is not a URL") from None
    if url.scheme != "https":
        raise EndpointRefused("endpoint must be an https URL")
    if not url.hostname or url.username is not None or url.password is not None:
        raise EndpointRefused("endpoint must name a host, without a user or password")
    if port != 443 and not allow_private:
        raise EndpointRefused("endpoint must use the https port 443")
    return url.hostname, port


async def public_addresses(host: str, port: int) -> list[str]:
    """The addresses the host resolves to, all of them public, or EndpointRefused."""
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT_SECONDS
            )
        except (OSError, TimeoutError, UnicodeError):
            raise EndpointRefused("endpoint's host does not resolve") from None
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses or not all(is_public(address) for address in addresses):
        raise EndpointRefused("endpoint must be on a public address")
    return addresses


async def check(endpoint: str, allow_private: bool) -> None:
    """Refuses (EndpointRefused) an endpoint the server must not send to."""
    host, port = host_and_port(endpoint, allow_private)
    if not allow_private:
        await public_addresses(host, port)


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses, resolving the name itself at connect time, so a name
    that resolved to a public address when registered cannot later lead inside (DNS rebinding).
    TLS still checks the certificate against the name: httpcore passes the URL's host for that."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = await public_addresses(host, port)
        except EndpointRefused as refused:
            raise httpcore.ConnectError(str(refused)) from None
        return await self.inner.connect_tcp(addresses[0], port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("push endpoints are never local sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
