"""The protocol's test vectors (docs/e2ee-vectors.json) checked by the PWA's own crypto modules,
in Chromium, as the app loads them: the primitives, ML-KEM, the handshake, the ratchet, the three
messages (sealed again byte for byte and opened in order), the safety number, and refusals. The
Python implementation checks the same file (tests/e2ee/test_e2ee_vectors.py)."""

from __future__ import annotations

import json
from pathlib import Path

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "docs" / "e2ee-vectors.json").read_text())

CHECK = """
async (v) => {
  const { hex, unhex } = await import('/crypto/bytes.js');
  const p = await import('/crypto/primitives.js');
  const { rootKey } = await import('/crypto/handshake.js');
  const results = {};
  const x = v.primitives.x25519;
  results.x25519 = hex(p.x25519(unhex(x.alice_private), unhex(x.bob_public))) === x.shared;
  const k = v.primitives.hkdf_sha256;
  results.hkdf = hex(await p.hkdf(unhex(k.ikm), unhex(k.salt), unhex(k.info), k.length)) === k.okm;
  const e = v.primitives.ed25519;
  results.ed25519_public = hex(p.ed25519Public(unhex(e.seed))) === e.public;
  results.ed25519_sign = hex(p.ed25519Sign(unhex(e.seed), unhex(e.message))) === e.signature;
  results.ed25519_verify = p.ed25519Verify(unhex(e.public), unhex(e.signature), unhex(e.message));
  const forged = unhex(e.signature); forged[0] ^= 1;
  results.ed25519_refuses_forgery = !p.ed25519Verify(unhex(e.public), forged, unhex(e.message));
  v.mlkem_encapsulations.forEach((m, i) => {
    results[`mlkem_decaps_${i}`] = hex(p.mlkemDecapsulate(unhex(m.pq_seed), unhex(m.ciphertext))) === m.shared_secret;
    const again = p.mlkemEncapsulate(p.mlkemPublic(unhex(m.pq_seed)), unhex(m.randomness));
    results[`mlkem_encaps_${i}`] =
      hex(again.cipherText) === m.ciphertext && hex(again.sharedSecret) === m.shared_secret;
  });
  const h = v.handshake;
  const dh4 = h.dh4 ? unhex(h.dh4) : null;
  const root = await rootKey(unhex(h.dh1), unhex(h.dh2), unhex(h.dh3), dh4, unhex(h.kem_secret));
  results.root_key = hex(root) === h.root_key;
  results.ephemeral_public = hex(p.x25519Public(unhex(h.ephemeral_private))) === h.ephemeral_public;
  return results;
}
"""


def test_the_browser_crypto_modules_reproduce_the_protocol_vectors(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    results = page.evaluate(CHECK, VECTORS)
    context.close()
    assert len(results) == 8 + 2 * len(VECTORS["mlkem_encapsulations"]) and all(results.values()), results


STATES = """
async (v) => {
  const { unhex, b64 } = await import('/crypto/bytes.js');
  const { parseBundle } = await import('/crypto/keys.js');
  const { DeviceState } = await import('/crypto/session.js');
  const people = {};
  for (const [name, person] of Object.entries(v.people)) {
    for (const d of person.devices) {
      const secrets = [unhex(d.device_id), unhex(d.device_seed), unhex(d.identity_dh_private)];
      const state = new DeviceState(person.user_id, ...secrets, {
        signedPrekeys: new Map([[d.signed_prekey.id, unhex(d.signed_prekey.private)]]),
        pqPrekeys: new Map([[d.pq_prekey.id, unhex(d.pq_prekey.seed)]]),
        oneTimePrekeys: new Map(d.one_time_prekeys.map((k) => [k.id, unhex(k.private)])),
      });
      const bundle = parseBundle(d.bundle_json, person.user_id, unhex(d.device_key));
      people[d.name] = { state, bundle, device: d };
    }
  }
  return people;
}
"""

MESSAGES = (
    """
async (v) => {
  const { hex, unhex, b64 } = await import('/crypto/bytes.js');
  const p = await import('/crypto/primitives.js');
  const env = await import('/crypto/envelope.js');
  const r = await import('/crypto/ratchet.js');
  const { recipient } = await import('/crypto/session.js');
  const people = await ("""
    + STATES
    + """)(v);
  const results = {};
  const rv = v.ratchet;
  const [root, chain] = await r.kdfRoot(unhex(rv.kdf_root.root), unhex(rv.kdf_root.dh_output));
  results.kdf_root = hex(root) === rv.kdf_root.new_root && hex(chain) === rv.kdf_root.chain;
  const [next, mk] = await r.kdfChain(unhex(rv.kdf_chain.chain));
  results.kdf_chain = hex(next) === rv.kdf_chain.next_chain && hex(mk) === rv.kdf_chain.message_key;
  const [wk, wn] = await r.wrapKeyAndNonce(unhex(rv.wrap.message_key));
  results.wrap = hex(wk) === rv.wrap.key && hex(wn) === rv.wrap.nonce;
  const kems = Object.fromEntries(v.mlkem_encapsulations.map((k) => [k.session, k]));
  for (const m of v.messages) {
    const sender = people[m.sender];
    const fixed = { contentKey: unhex(m.content_key), nonce: unhex(m.nonce) };
    const targets = m.opened_by.map((o) => o.device);
    const recipients = targets.map((name) => {
      const target = people[name];
      const fresh = m.new_sessions[name];
      let oneTime = null;
      if (fresh) {
        const kem = kems[`${m.sender} -> ${name}`];
        fixed[b64(target.state.deviceId)] = {
          ephemeral: unhex(fresh.ephemeral_private),
          ratchet: unhex(fresh.ratchet_private),
          kem: p.mlkemEncapsulate(target.bundle.pqPrekey, unhex(kem.randomness)),
        };
        const used = target.device.one_time_prekeys.find((k) => k.id === fresh.one_time_prekey_id);
        if (used) oneTime = { id: used.id, key: unhex(used.public) };
      }
      return recipient(target.state.userId, target.state.deviceId, target.bundle, oneTime);
    });
    const padded = env.pad(env.innerBytes(m.inner));
    results[`padded_${m.number}`] = hex(padded) === m.padded_plaintext;
    const sealed = await sender.state.seal(m.peer_user, recipients, m.inner, m.client_id, fixed);
    results[`sealed_${m.number}`] = hex(sealed) === m.envelope && b64(sealed) === m.envelope_base64url;
    const parsed = env.parse(sealed);
    const ad = env.associatedData(
      m.sender_user, m.peer_user, parsed.senderDevice, env.recipients(parsed), parsed.counter, m.client_id);
    results[`ad_${m.number}`] = hex(ad) === m.associated_data && parsed.counter === m.counter;
    results[`reserialized_${m.number}`] = hex(env.serialize(parsed)) === m.envelope;
    for (const o of m.opened_by) {
      const reader = people[o.device].state;
      const turn = unhex(o.next_ratchet_private);
      const opened = await reader.open(
        unhex(m.envelope), m.sender_user, m.peer_user, m.client_id, sender.bundle.identityDh, turn);
      results[`opened_${m.number}_${o.device}`] = JSON.stringify(opened.inner) === JSON.stringify(m.inner);
    }
  }
  const used = people['bob/0'].state.oneTimePrekeys;
  results.one_time_prekey_deleted = !used.has(1) && used.has(2);
  const { fingerprint, safetyNumber, grouped } = await import('/crypto/safety.js');
  const a = v.people.alice, b = v.people.bob;
  results.fingerprint_alice = (await fingerprint(a.user_id, unhex(a.identity_key))) === v.safety_number.alice;
  results.fingerprint_bob = (await fingerprint(b.user_id, unhex(b.identity_key))) === v.safety_number.bob;
  const one = await safetyNumber(a.user_id, unhex(a.identity_key), b.user_id, unhex(b.identity_key));
  const other = await safetyNumber(b.user_id, unhex(b.identity_key), a.user_id, unhex(a.identity_key));
  results.safety_number = one === v.safety_number.number && other === one;
  results.grouped = grouped(one).split(' ').length === 12;
  return results;
}
"""
)

FAILURES = (
    """
async (v) => {
  const { unhex, DecryptError } = await import('/crypto/bytes.js');
  const { recipient, DeviceState } = await import('/crypto/session.js');
  const people = await ("""
    + STATES
    + """)(v);
  const results = {};
  const alice = people['alice/0'], bob = people['bob/0'];
  const snapshot = () => JSON.stringify(bob.state.asJson());
  const refused = async (name, data, clientId, peer = 12, senderDh = alice.bundle.identityDh) => {
    const before = snapshot();
    try {
      await bob.state.open(data, 7, peer, clientId, senderDh);
      results[name] = 'opened';
    } catch (error) {
      results[name] = error instanceof DecryptError && snapshot() === before ? true : String(error);
    }
  };
  const to = [recipient(12, bob.state.deviceId, bob.bundle, null)];
  const say = (text, clientId) => alice.state.seal(12, to, { v: 1, kind: 'text', text, sent_at: 1 }, clientId);
  const first = await say('one', 'c1');
  const tampered = first.slice(); tampered[tampered.length - 20] ^= 1;
  await refused('tampered_body', tampered, 'c1');
  const wrapped = first.slice(); wrapped[200] ^= 1;
  await refused('tampered_entry', wrapped, 'c1');
  await refused('moved_conversation', first, 'c1', 99);
  await refused('other_client_id', first, 'c2');
  await refused('other_sender_key', first, 'c1', 12, people['alice/1'].bundle.identityDh);
  await refused('truncated', first.slice(0, 100), 'c1');
  results.first = (await bob.state.open(first, 7, 12, 'c1', alice.bundle.identityDh)).inner.text === 'one';
  await refused('replayed', first, 'c1');
  const second = await say('two', 'c2');
  const third = await say('three', 'c3');
  await refused('reordered_client_id', third, 'c2');
  results.third_early = (await bob.state.open(third, 7, 12, 'c3', alice.bundle.identityDh)).inner.text === 'three';
  results.second_late = (await bob.state.open(second, 7, 12, 'c2', alice.bundle.identityDh)).inner.text === 'two';
  await refused('replayed_skipped', second, 'c2');
  const readdressed = third.slice(); readdressed[1] ^= 1;
  await refused('readdressed_sender', readdressed, 'c3');
  const inner = (text) => ({ v: 1, kind: 'text', text, sent_at: 2 });
  const back = await bob.state.seal(7, [recipient(7, alice.state.deviceId)], inner('back'), 'c4');
  results.answer = (await alice.state.open(back, 12, 7, 'c4', bob.bundle.identityDh)).inner.text === 'back';
  const saved = DeviceState.fromJson(JSON.parse(JSON.stringify(alice.state.asJson())));
  const again = await saved.seal(12, to, inner('after reload'), 'c5');
  const reopened = await bob.state.open(again, 7, 12, 'c5', alice.bundle.identityDh);
  results.after_reload = reopened.inner.text === 'after reload';
  return results;
}
"""
)


def test_the_browser_ratchet_envelopes_and_safety_number_reproduce_the_vectors(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    results = page.evaluate(MESSAGES, VECTORS)
    context.close()
    sealed = [name for name in results if name.startswith("sealed_")]
    opened = [name for name in results if name.startswith("opened_")]
    assert len(sealed) == 3 and len(opened) == 6, results
    assert all(value is True for value in results.values()), results


def test_tampered_moved_replayed_and_reordered_envelopes_fail_and_change_no_state(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    results = page.evaluate(FAILURES, VECTORS)
    context.close()
    assert len(results) == 15 and all(value is True for value in results.values()), results
