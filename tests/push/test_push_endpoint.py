"""The private-network check of push endpoints on its own: addresses, URLs, and the check made
again at connect time (a name may resolve elsewhere later than when it was registered)."""

from __future__ import annotations

import httpcore
import pytest
from push_service import Browser, start_push_service

from push.endpoint import EndpointRefused, PublicOnlyBackend, check, is_public
from push.keys import b64url
from push.sender import Sender, Subscription


@pytest.mark.parametrize(
    "address, public",
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.251", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.10", False),  # documentation
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd12:3456::1", False),
        ("ff02::1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
    ],
)
def test_only_public_addresses_count_as_public(address, public):
    assert is_public(address) is public


async def test_a_name_is_refused_when_it_resolves_to_loopback():
    with pytest.raises(EndpointRefused):
        await check("https://localhost/push/x", allow_private=False)
    await check("https://localhost:8443/push/x", allow_private=True)  # the setting allows it


async def test_the_connect_time_check_refuses_private_addresses():
    backend = PublicOnlyBackend()
    for host in ("127.0.0.1", "localhost", "10.0.0.1"):
        with pytest.raises(httpcore.ConnectError):
            await backend.connect_tcp(host, 443, timeout=2)


async def test_a_sender_without_the_setting_never_reaches_a_private_push_service(tmp_path):
    service, server = start_push_service(tmp_path)
    try:
        key = b64url((7).to_bytes(32, "big"))
        sender = Sender(key, "mailto:test@example.com", allow_private=False, ca_file=str(service.cert_file))
        browser = Browser()
        subscription = Subscription(service.url(), browser.keys["p256dh"], browser.keys["auth"])
        assert await sender.send(subscription, b"{}", 60, "normal", "t") == 0
        assert service.received == []
        await sender.close()
        allowed = Sender(key, "mailto:test@example.com", allow_private=True, ca_file=str(service.cert_file))
        assert await allowed.send(subscription, b"{}", 60, "normal", "t") == 201
        assert len(service.received) == 1
        await allowed.close()
    finally:
        server.shutdown()
