"""Encrypted chat for the bench: keys published for every bench user, and a pool of real envelopes
per sender → peer, sealed before the timed part with the protocol's own code (`payambar.e2ee`).

Every user gets one identity and its devices made from fixed randomness (a seeded generator, so a
run's keys are the same every time and cost no entropy), published over the key routes the app
uses: the signed device list, then each device's signed bundle. Half the chat groups (the odd
ones) have two devices per person, so their envelopes go to three devices (the peer's two and
the sender's own other device); the even groups have one device each, so one recipient device.

Sessions are set up between the devices in this process, as the app would after its first
message each way (a prekey message, opened, answered and opened), so the pooled envelopes carry
ratchet entries (97 bytes per device) like every message after a chat's first. Texts are Persian,
10–300 characters, lengths log-uniform (short lines most often, median about 55 characters),
from a seeded generator: the plaintext variant of a scenario sends the very same texts.

What the server checks on an envelope (`chat/encryption.py`): base64url, its size (at most
`E2EE_MAX_ENVELOPE_BYTES`), and its layout (`payambar.e2ee.envelope.check`: version, 1–32
recipient entries sorted and unique, the sender not among them, a body of 48 bytes or more);
and that both people have a device list. It never opens an envelope, nor compares its recipients,
counter or associated data with anything, so sending a genuine envelope from the pool again costs
the server exactly what a fresh one would. (A receiving device would refuse a repeat: its counter
and client id are bound in; the bench's recipients do not open what they get.)
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field

import httpx

from payambar.client import Keystore
from payambar.e2ee.primitives import b64
from payambar.e2ee.session import DeviceState, Recipient

PERSIAN = (
    "سلام دوست من، امروز هوا خیلی خوب است و ما به پارک رفتیم تا کمی قدم بزنیم و چای بنوشیم. "
    "فردا ساعت پنج عصر در کافه‌ی نزدیک دانشگاه همدیگر را ببینیم؟ "
    "کتابی که گفته بودی را خریدم، خیلی جالب است و تا نیمه خواندمش. "
    "مادرم سلام رساند و گفت حتماً آخر هفته برای ناهار بیایید. "
    "جلسه‌ی امروز به تعویق افتاد، لطفاً به بقیه هم خبر بده. "
)
SHORTEST, LONGEST = 10, 300


def texts(rng: random.Random, count: int) -> list[str]:
    """Persian texts of 10–300 characters, log-uniform lengths, each starting somewhere else."""
    out = []
    for _ in range(count):
        length = round(math.exp(rng.uniform(math.log(SHORTEST), math.log(LONGEST))))
        start = rng.randrange(len(PERSIAN))
        out.append((PERSIAN * 3)[start : start + length])
    return out


def inner(text: str) -> dict:
    return {"v": 1, "kind": "text", "text": text, "sent_at": 1_780_000_000_000}


@dataclass
class Person:
    """A bench user's devices: the first one sends; all share the identity."""

    username: str
    user_id: int
    token: str
    devices: list[Keystore] = field(default_factory=list)


def make_person(username: str, user_id: int, token: str, device_count: int, rng: random.Random) -> Person:
    """One identity and its devices, from fixed randomness."""
    identity = rng.randbytes(32)
    person = Person(username, user_id, token)
    for _ in range(device_count):
        device = DeviceState(user_id, rng.randbytes(8), rng.randbytes(32), rng.randbytes(32))
        device.signed_prekeys[1] = rng.randbytes(32)
        device.pq_prekeys[1] = rng.randbytes(64)
        person.devices.append(Keystore(identity, device, next_prekey_id=2))
    return person


async def _publish(client: httpx.AsyncClient, person: Person) -> None:
    first = person.devices[0]
    cards = sorted((k.device.device_id, k.device_key) for k in person.devices)
    auth = {"authorization": f"Bearer {person.token}"}
    r = await client.put("/api/keys/device-list", json=first.sign_device_list(cards).as_json(), headers=auth)
    r.raise_for_status()
    for keystore in person.devices:
        device_id = b64(keystore.device.device_id)
        r = await client.put(f"/api/keys/devices/{device_id}", json=keystore.bundle().as_json(), headers=auth)
        r.raise_for_status()


async def publish_all(base: str, people: list[Person], concurrency: int = 8) -> None:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one(person: Person) -> None:
            async with sem:
                await _publish(client, person)

        await asyncio.gather(*(one(p) for p in people))


def _recipients(sender: Person, peer: Person, bundles: bool) -> list[Recipient]:
    own = [(sender.user_id, k) for k in sender.devices[1:]]
    targets = [(peer.user_id, k) for k in peer.devices] + own
    return [Recipient(uid, k.device.device_id, k.bundle() if bundles else None) for uid, k in targets]


def _settle(sender: Person, peer: Person) -> None:
    """A session each way between the sender's device and every recipient device: a prekey message
    opened by each, and an answer from each opened by the sender."""
    me = sender.devices[0]
    data = me.device.seal(peer.user_id, _recipients(sender, peer, True), inner("سلام"), "hello")
    for uid, reader in [(peer.user_id, k) for k in peer.devices] + [(sender.user_id, k) for k in sender.devices[1:]]:
        reader.device.open(data, sender.user_id, peer.user_id, "hello", me.device.identity_dh)
        to = sender.user_id if uid == peer.user_id else peer.user_id  # an own device writes in the same chat
        answer_id = f"answer-{reader.device.device_id.hex()}"
        back = reader.device.seal(to, [Recipient(sender.user_id, me.device.device_id)], inner("ok"), answer_id)
        me.device.open(back, uid, to, answer_id, reader.device.identity_dh)


def seal_pool(sender: Person, peer: Person, pool_texts: list[str]) -> list[bytes]:
    """Envelopes of these texts from the sender's device to every device of
    the peer and every other device of the sender: ratchet entries, as after a chat's first message."""
    _settle(sender, peer)
    recipients = _recipients(sender, peer, False)
    me = sender.devices[0].device
    return [me.seal(peer.user_id, recipients, inner(t), f"pool-{i}") for i, t in enumerate(pool_texts)]


def prepare(base: str, groups: list[dict], ids: dict[str, int], pool: int, seed: int = 2026) -> dict:
    """Keys for every user of the groups, published; each group gets `texts` (the plaintext variant
    sends these) and `envelopes` {recipient: [base64url…]} of the same texts (the encrypted variant).
    Returns the envelopes' sizes in bytes, by recipient device count."""
    rng = random.Random(seed)
    people: dict[str, Person] = {}
    for gi, g in enumerate(groups):
        count = 2 if gi % 2 else 1
        for user in [g["sender"], *g["recipients"]]:
            people[user["username"]] = make_person(user["username"], ids[user["username"]], user["token"], count, rng)
    asyncio.run(publish_all(base, list(people.values())))
    plain_texts(groups, pool, seed)
    sizes: dict[int, list[int]] = {}
    for g in groups:
        sender = people[g["sender"]["username"]]
        g["envelopes"] = {}
        for r in g["recipients"]:
            peer = people[r["username"]]
            sealed = seal_pool(sender, peer, g["texts"])
            g["envelopes"][r["username"]] = [b64(e) for e in sealed]
            devices = len(peer.devices) + len(sender.devices) - 1
            sizes.setdefault(devices, []).extend(len(e) for e in sealed)
    return sizes


def plain_texts(groups: list[dict], pool: int, seed: int = 2026) -> None:
    """Each group's `texts`: its own seeded generator, so plaintext and encrypted runs send the same."""
    rng = random.Random(seed + 1)
    for g in groups:
        g["texts"] = texts(rng, pool)
