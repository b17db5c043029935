"""The server's layout check of an envelope (`envelope.check`) accepts and refuses exactly what
`envelope.parse` does, with the same reason, on real envelopes and on every kind of damage."""

from __future__ import annotations

import json

from payambar.client import Keystore
from payambar.e2ee import envelope as env
from payambar.e2ee import vectors
from payambar.e2ee.session import Recipient

VECTORS = json.loads(vectors.VECTORS_FILE.read_text())
TEXT = {"v": 1, "kind": "text", "text": "سلام، فردا ساعت پنج همدیگر را ببینیم؟", "sent_at": 1_780_000_000_000}


def outcome(check, data: bytes) -> str | None:
    try:
        check(data)
    except env.BadEnvelope as error:
        return str(error)
    return None


def real_envelopes() -> list[bytes]:
    """From the protocol's vectors, and sealed here: prekey entries to three devices, then ratchet ones."""
    found = [bytes.fromhex(m["envelope"]) for m in VECTORS["messages"]]
    sender = Keystore.new_device(1)
    readers = [Keystore.new_device(2), Keystore.new_device(2), Keystore.new_device(1, sender.identity_seed)]
    first = [Recipient(r.device.user_id, r.device.device_id, r.bundle()) for r in readers]
    found.append(sender.device.seal(2, first, TEXT, "first"))
    found.append(sender.device.seal(2, first[:1], TEXT | {"text": "کوتاه"}, "second"))
    for reader in readers:
        reader.device.open(found[-2], 1, 2, "first", sender.device.identity_dh)
        to = 1 if reader.device.user_id == 2 else 2
        back = reader.device.seal(
            to, [Recipient(1, sender.device.device_id)], TEXT, f"b{reader.device.device_id.hex()}"
        )
        sender.device.open(
            back, reader.device.user_id, to, f"b{reader.device.device_id.hex()}", reader.device.identity_dh
        )
    plain = [Recipient(r.device.user_id, r.device.device_id) for r in readers]
    found.append(sender.device.seal(2, plain, TEXT, "third"))
    return found


def damaged(data: bytes) -> list[bytes]:
    """Every truncation, bytes flipped where the layout is read, entries reordered or repeated,
    the sender among the recipients, bytes added at the end."""
    out = [data[:n] for n in range(len(data))] + [data + b"\x00", data + b"\x00" * 200]
    parsed = env.parse(data)
    at, places = 18, [0, 1, 9, 17]
    for entry in parsed.entries:
        places += [at, at + 7, at + 8]  # device id, its last byte, kind
        at += len(entry.to_bytes())
    for place in places:
        for value in (0, 1, 2, 3, 0x20, 0x21, 0x80, 0xFF):
            out.append(data[:place] + bytes([value]) + data[place + 1 :])
    head = data[:18]
    entries = [entry.to_bytes() for entry in parsed.entries]
    rest = parsed.nonce + parsed.body
    if len(entries) > 1:
        out.append(head + b"".join(reversed(entries)) + rest)
    out.append(head[:17] + bytes([len(entries) + 1]) + b"".join(entries) + entries[0] + rest)
    out.append(head[:1] + parsed.entries[0].device_id + head[9:] + b"".join(entries) + rest)
    out.append(head[:17] + bytes([0]) + rest)
    return out


def test_check_and_parse_agree_on_real_and_damaged_envelopes():
    cases = 0
    for data in real_envelopes():
        assert outcome(env.check, data) is None and outcome(env.parse, data) is None
        for bad in damaged(data):
            assert outcome(env.check, bad) == outcome(env.parse, bad), bad.hex()
            cases += 1
    assert cases > 5000
    refused = {outcome(env.parse, bad) for data in real_envelopes() for bad in damaged(data)} - {None}
    assert len(refused) == 6  # every reason parse gives was met, and check gave it alike
