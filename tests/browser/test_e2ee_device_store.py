"""A browser device's keystore (public/crypto/device.js) in Chromium: prekey rotation and how long
old prekeys are kept, the IndexedDB record sealed so no secret is stored in the clear, and two tabs
of one device sealing at once without stepping one ratchet apart (the Python client reads all)."""

from __future__ import annotations

from browser_helpers import PASSWORD, unique_name
from test_e2ee_interop import HISTORY, OPEN_DEVICE, SIGN_UP, signed_up_device, texts

from tests.e2ee_people import close, person

ROTATION = """
async () => {
  const { Keystore } = await import('/crypto/device.js');
  const day = 24 * 3600 * 1000;
  const start = 1780000000000;
  const ks = Keystore.newDevice(5, null, start);
  const ids = () => [...ks.device.signedPrekeys.keys()].join(',') + '/' + [...ks.device.pqPrekeys.keys()].join(',');
  const out = { fresh: ids() };
  out.due_at_6_days = ks.prekeysDue(start + 6 * day);
  out.due_at_8_days = ks.prekeysDue(start + 8 * day);
  ks.rotatePrekeys(start + 8 * day);
  out.after_rotation = ids();
  out.bundle_uses_newest = ks.bundle().signedPrekeyId;
  ks.rotatePrekeys(start + 16 * day);
  out.second_rotation = ids();
  ks.rotatePrekeys(start + 47 * day); // id 1 replaced 39 days ago, id 2 31 days ago: both go
  out.thirty_days_later = ids();
  out.one_time = ks.newOneTimePrekeys(3).map((k) => k.id).join(',');
  out.next_rotation_id = (ks.rotatePrekeys(start + 48 * day), Math.max(...ks.device.signedPrekeys.keys()));
  return out;
}
"""

RAW_RECORD = """
async (userId) => {
  const { hex } = await import('/crypto/bytes.js');
  const { DeviceStore } = await import('/crypto/device.js');
  const store = await DeviceStore.open(userId);
  const keystore = await store.load();
  const record = await store.get('state', 'keystore');
  const raw = hex(record.sealed);
  const secrets = [keystore.identitySeed, keystore.device.deviceSeed, keystore.device.identityDhPrivate,
    ...keystore.device.signedPrekeys.values(), ...keystore.device.oneTimePrekeys.values()];
  const { b64 } = await import('/crypto/bytes.js');
  const text = new TextDecoder('latin1').decode(record.sealed);
  return {
    secrets: secrets.length,
    in_clear: secrets.filter((s) => raw.includes(hex(s)) || text.includes(b64(s))).length,
    keys_in_record: Object.keys(record).sort().join(','),
  };
}
"""

RACE = """
async ([peer, tab, count]) => {
  window.done = null;
  const jobs = [];
  for (let i = 0; i < count; i += 1) jobs.push(window.e2ee.sendText(peer, `${tab} ${i}`));
  window.done = Promise.all(jobs).then(() => 'sent', (error) => String(error));
}
"""


def test_prekeys_rotate_after_seven_days_and_old_ones_are_kept_thirty_more(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    out = page.evaluate(ROTATION)
    context.close()
    assert out == {
        "fresh": "1/1",
        "due_at_6_days": False,
        "due_at_8_days": True,
        "after_rotation": "1,2/1,2",
        "bundle_uses_newest": 2,
        "second_rotation": "1,2,3/1,2,3",
        "thirty_days_later": "3,4/3,4",
        "one_time": "5,6,7",
        "next_rotation_id": 8,
    }


def test_the_stored_record_holds_no_secret_in_the_clear(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    user = page.evaluate(SIGN_UP, [unique_name("sara"), PASSWORD])
    assert page.evaluate(OPEN_DEVICE, user) == "created"
    raw = page.evaluate(RAW_RECORD, user["id"])
    context.close()
    assert raw["secrets"] > 100 and raw["in_clear"] == 0
    assert raw["keys_in_record"] == "iv,rev,sealed"


def test_two_tabs_of_one_device_seal_at_once_and_every_message_opens(browser, live_server, loop, tmp_path):
    omid = loop.run(person(live_server, tmp_path, 2))
    context = browser.new_context(base_url=live_server.url)
    try:
        first, sara = signed_up_device(context)
        second = context.new_page()
        second.goto("/")
        assert second.evaluate(OPEN_DEVICE, sara) == "loaded"
        peer = omid[0].username
        first.evaluate(RACE, [peer, "one", 6])
        second.evaluate(RACE, [peer, "two", 6])
        assert first.evaluate("() => window.done") == "sent"
        assert second.evaluate("() => window.done") == "sent"
        loop.run(omid[1].send_text(sara["username"], "answer"))
        wanted = sorted([f"one {i}" for i in range(6)] + [f"two {i}" for i in range(6)] + ["answer"])
        for device in omid:
            assert sorted(texts(loop.run(device.history(sara["username"])))) == wanted
        for page in (first, second):
            assert sorted(m["text"] for m in page.evaluate(HISTORY, peer)) == wanted
    finally:
        context.close()
        loop.run(close(omid))


# How many opened entries carry `at` (the ones pruning may let go), after pruning to `keep`.
PRUNE = """
async ([userId, keep, slack]) => {
  const { DeviceStore } = await import('/crypto/device.js');
  const store = await DeviceStore.open(userId);
  const count = () => new Promise((resolve) => {
    const request = store.db.transaction('opened').objectStore('opened').index('at').count();
    request.onsuccess = () => resolve(request.result);
  });
  const before = await count();
  const pruned = await store.pruneOpened(keep, slack);
  return { before, pruned, after: await count(), keys: (await store.allKeys()).size };
}
"""


def test_the_oldest_opened_messages_are_let_go_and_open_again_from_kept_keys(browser, live_server, loop, tmp_path):
    omid = loop.run(person(live_server, tmp_path, 1))
    context = browser.new_context(base_url=live_server.url)
    try:
        page, sara = signed_up_device(context)
        peer = omid[0].username
        for index in range(8):
            loop.run(omid[0].send_text(sara["username"], f"old {index}"))
        page.evaluate("async (peer) => window.e2ee.sendText(peer, 'mine')", peer)
        wanted = [f"old {index}" for index in range(8)] + ["mine"]
        assert [m["text"] for m in page.evaluate(HISTORY, peer)] == wanted
        counted = page.evaluate(PRUNE, [sara["id"], 2, 10])
        assert counted == {"before": 9, "pruned": 0, "after": 9, "keys": 9}, "nothing goes within the slack"
        counted = page.evaluate(PRUNE, [sara["id"], 2, 0])  # seven go
        assert counted == {"before": 9, "pruned": 7, "after": 2, "keys": 9}
        # the ratchet has moved on past them: they open again from the content keys kept in history
        page.reload()
        page.evaluate(OPEN_DEVICE, sara)
        read = page.evaluate(HISTORY, peer)
        assert [m["text"] for m in read] == wanted and not any(m["error"] for m in read), read
        loop.run(omid[0].send_text(sara["username"], "new"))
        assert [m["text"] for m in page.evaluate(HISTORY, peer)][-1] == "new"
    finally:
        context.close()
        loop.run(close(omid))
