"""The link section of docs/e2ee-vectors.json (docs/e2ee.md §9) checked by public/crypto/link.js in
Chromium: the QR text and commitment, the shared secret from both sides, the transcript, the key,
the short code, the payload sealed byte for byte and opened and checked, and refusals of a changed
commitment, a payload under another key, another person's list and a list without the new device.
The Python side checks the same section (tests/e2ee/test_e2ee_vectors.py)."""

from __future__ import annotations

import json
from pathlib import Path

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "docs" / "e2ee-vectors.json").read_text())

CHECK = """
async (v) => {
  const { hex, unhex, unb64, b64, utf8 } = await import('/crypto/bytes.js');
  const p = await import('/crypto/primitives.js');
  const link = await import('/crypto/link.js');
  const l = v.link;
  const results = {};
  const revealed = link.parseRevealed(unhex(l.revealed));
  results.revealed = hex(link.revealedBytes(revealed)) === l.revealed
    && hex(revealed.deviceId) === l.new_device.device_id && hex(revealed.deviceKey) === l.new_device.device_key;
  results.device_key = hex(p.ed25519Public(unhex(l.new_device.device_seed))) === l.new_device.device_key;
  results.qr = link.qrText(revealed) === l.qr && hex(link.revealedBytes(link.parseQr(l.qr))) === l.revealed;
  results.commitment = hex(await link.commitment(unhex(l.revealed))) === l.commitment;
  results.publics = hex(p.x25519Public(unhex(l.new_link_private))) === l.new_link_public
    && hex(p.x25519Public(unhex(l.existing_link_private))) === l.existing_link_public;
  const existingKey = unhex(l.existing_link_public);
  const onNew = await link.derive(unhex(l.new_link_private), existingKey, revealed, existingKey);
  const onExisting = await link.derive(unhex(l.existing_link_private), revealed.linkKey, revealed, existingKey);
  for (const [side, s] of [['new', onNew], ['existing', onExisting]]) {
    results[`shared_${side}`] = hex(s.shared) === l.shared;
    results[`transcript_${side}`] = hex(s.transcript) === l.transcript;
    results[`key_${side}`] = hex(s.key) === l.key;
    results[`code_${side}`] = hex(s.codeBytes) === l.code_bytes && s.code === l.short_code;
  }
  const body = JSON.parse(l.payload);
  const verified = body.verified.map((x) => ({ userId: x.user_id, identityKey: unb64(x.identity_key) }));
  const payload = link.payloadJson(unb64(body.identity_seed), body.device_list, verified);
  results.payload = new TextDecoder().decode(payload) === l.payload;
  results.associated_data = hex(utf8('payambar/link-payload/v1\\0')) + l.transcript === l.associated_data;
  const sealed = await link.sealPayload(onExisting, payload);
  results.sealed = hex(sealed) === l.sealed && b64(sealed) === l.sealed_base64url;
  const opened = link.parsePayload(await link.openPayload(onNew, unhex(l.sealed)), 7, revealed);
  results.opened = b64(opened.identitySeed) === body.identity_seed && opened.deviceList.version === 2
    && opened.deviceList.devices.length === 3 && opened.verified[0].userId === 12
    && b64(opened.verified[0].identityKey) === body.verified[0].identity_key;
  const refused = async (name, work) => {
    try {
      await work();
      results[name] = 'accepted';
    } catch (error) {
      results[name] = error.name === 'LinkRefused' ? true : String(error);
    }
  };
  const other = { ...revealed, deviceKey: p.ed25519Public(new Uint8Array(32).fill(9)) };
  await refused('other_commitment', () => link.checkCommitment(other, unhex(l.commitment)));
  await link.checkCommitment(revealed, unhex(l.commitment));
  const wrongKey = await link.derive(p.randomBytes(32), revealed.linkKey, revealed, existingKey);
  await refused('other_key', () => link.openPayload(wrongKey, unhex(l.sealed)));
  const flipped = unhex(l.sealed); flipped[5] ^= 1;
  await refused('tampered', () => link.openPayload(onNew, flipped));
  await refused('other_person', () => link.parsePayload(payload, 12, revealed));
  await refused('not_listed', () => link.parsePayload(payload, 7, other));
  const foreign = JSON.stringify({ ...body, identity_seed: b64(new Uint8Array(32).fill(3)) });
  await refused('other_identity', () => link.parsePayload(utf8(foreign), 7, revealed));
  await refused('not_a_link_code', () => link.parseQr('payambar-safety:1:123'));
  await refused('short_code', () => link.parseQr(l.qr.slice(0, -4)));
  return results;
}
"""


def test_the_browser_link_module_reproduces_the_link_vectors_and_refuses_changes(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/")
    results = page.evaluate(CHECK, VECTORS)
    context.close()
    assert len(results) == 25 and all(value is True for value in results.values()), results
