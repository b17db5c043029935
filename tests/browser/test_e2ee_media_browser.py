"""Sealed attachments (docs/e2ee.md §7.6) in Chromium with the PWA's own public/crypto/media.js: the
vectors of docs/e2ee-media-vectors.json, every tampered file refused, and a random 3 MB file sealed
by the browser and opened by Python, and the other way round."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from payambar.e2ee import media

VECTORS = json.loads((Path(__file__).resolve().parents[2] / "docs" / "e2ee-media-vectors.json").read_text())

CHECK = """
async (v) => {
  const { hex, unhex, DecryptError } = await import('/crypto/bytes.js');
  const { sha256 } = await import('/crypto/primitives.js');
  const m = await import('/crypto/media.js');
  const results = {};
  const plaintextOf = (c) => c.plaintext === 'pattern'
    ? Uint8Array.from({ length: c.size }, (_, i) => i % 251) : unhex(c.plaintext);
  const bytesOf = async (blob) => new Uint8Array(await blob.arrayBuffer());
  const refused = async (data, key, digest, size) => {
    try { await m.openFile(data, { key, digest, size }); return false; }
    catch (error) { return error instanceof DecryptError; }
  };
  for (const c of v.cases) {
    const plain = plaintextOf(c);
    const sealed = await m.sealFile(new Blob([plain]), { key: unhex(c.key), prefix: unhex(c.nonce_prefix) });
    const bytes = await bytesOf(sealed.blob);
    let tags = true;
    for (const chunk of c.chunks) {
      const end = m.HEADER + chunk.index * m.SEALED_CHUNK + chunk.plaintext_bytes + m.TAG;
      tags = tags && hex(bytes.subarray(end - m.TAG, end)) === chunk.tag
        && hex(m.chunkNonce(unhex(c.nonce_prefix), chunk.index, chunk.last)) === chunk.nonce;
    }
    const envelope = { key: unhex(c.key), digest: unhex(c.digest), size: c.size };
    const opened = await bytesOf(await m.openFile(sealed.blob, envelope));
    const fromBuffer = await bytesOf(await m.openFile(bytes.buffer, envelope));
    results[c.name] = {
      size: bytes.length === c.sealed_size && m.sealedSize(c.size) === c.sealed_size && sealed.size === c.size,
      digest: hex(sealed.digest) === c.digest && hex(await sha256(bytes)) === c.digest,
      header: hex(bytes.subarray(0, m.HEADER)) === c.header
        && hex(m.associatedData(bytes.subarray(0, m.HEADER))) === c.associated_data,
      whole: c.ciphertext ? hex(bytes) === c.ciphertext : hex(bytes.subarray(0, 64)) === c.ciphertext_head,
      tags,
      opens: hex(opened) === hex(plain) && hex(fromBuffer) === hex(plain),
    };
  }
  const c = v.cases.find((x) => x.name === 'three chunks');
  const key = unhex(c.key);
  const good = await bytesOf((await m.sealFile(plaintextOf(c), { key, prefix: unhex(c.nonce_prefix) })).blob);
  const header = good.subarray(0, m.HEADER);
  const chunk = (i) => good.subarray(m.HEADER + i * m.SEALED_CHUNK, m.HEADER + (i + 1) * m.SEALED_CHUNK);
  const flipped = good.slice(); flipped[m.HEADER + 100] ^= 1;
  const version = good.slice(); version[0] = 2;
  const { concat } = await import('/crypto/bytes.js');
  const bad = {
    last_dropped: concat(header, chunk(0), chunk(1)),
    swapped: concat(header, chunk(1), chunk(0), chunk(2)),
    flipped,
    appended: concat(good, chunk(1)),
    tag_cut: good.subarray(0, good.length - 1),
    version,
    only_header: header,
    nothing: new Uint8Array(0),
  };
  for (const [name, data] of Object.entries(bad)) {
    results[`refused_${name}`] = await refused(data, key, unhex(c.digest), c.size)
      && await refused(data, key, await sha256(data), undefined);
  }
  results.wrong_key = await refused(good, unhex(v.wrong_key), unhex(c.digest), c.size);
  results.wrong_digest = await refused(good, key, await sha256(new Uint8Array([1])), c.size);
  results.wrong_size = await refused(good, key, unhex(c.digest), c.size + 1);
  const inner = m.attachmentOf(v.inner_example);
  results.inner = hex(inner.key) === v.cases[1].key && inner.size === v.cases[1].size && inner.name === 'گزارش.txt';
  let notMedia = false;
  try { m.attachmentOf({ kind: 'text', text: 'hi' }); } catch (error) { notMedia = error instanceof DecryptError; }
  results.not_media = notMedia;
  const fresh = [await m.sealFile(new Uint8Array(10)), await m.sealFile(new Uint8Array(10))];
  results.fresh_keys = hex(fresh[0].key) !== hex(fresh[1].key)
    && hex(await bytesOf(fresh[0].blob)) !== hex(await bytesOf(fresh[1].blob));
  return results;
}
"""

ROUND_TRIP = """
async ({ key, digest, size }) => {
  const { hex, unhex } = await import('/crypto/bytes.js');
  const m = await import('/crypto/media.js');
  const sealedByPython = await (await fetch('/__media-test/python-sealed')).blob();
  const opened = await m.openFile(sealedByPython, { key: unhex(key), digest: unhex(digest), size }, 'application/pdf');
  await fetch('/__media-test/opened-by-browser', { method: 'POST', body: opened });
  const plain = await (await fetch('/__media-test/plaintext')).blob();
  const sealer = new m.FileSealer(plain);
  const pieces = [];
  let largest = 0;
  for await (const piece of sealer.pieces()) { pieces.push(piece); largest = Math.max(largest, piece.length); }
  await fetch('/__media-test/sealed-by-browser', { method: 'POST', body: new Blob(pieces) });
  return { key: hex(sealer.sealed.key), digest: hex(sealer.sealed.digest), size: sealer.sealed.size,
           declared: sealer.sealedSize, largest, type: opened.type };
}
"""


def test_the_browser_media_module_reproduces_the_vectors_and_refuses_every_tampered_file(browser, live_server):
    context = browser.new_context(base_url=live_server.url, service_workers="block")
    page = context.new_page()
    page.goto("/")
    results = page.evaluate(CHECK, VECTORS)
    context.close()
    for case in VECTORS["cases"]:
        assert all(results.pop(case["name"]).values()), case["name"]
    assert len(results) == 8 + 6 and all(results.values()), results


def test_a_random_three_megabyte_file_goes_from_python_to_the_browser_and_back(browser, live_server):
    data = os.urandom(3 * 1024 * 1024 + 4321)
    ciphertext, sealed = media.encrypt(data)
    received: dict[str, bytes] = {}

    def handle(route) -> None:
        name = route.request.url.rsplit("/", 1)[1]
        if route.request.method == "POST":
            received[name] = route.request.post_data_buffer
            route.fulfill(status=204)
        else:
            route.fulfill(status=200, body={"python-sealed": ciphertext, "plaintext": data}[name])

    context = browser.new_context(base_url=live_server.url, service_workers="block")
    context.route("**/__media-test/*", handle)
    page = context.new_page()
    page.goto("/")
    answer = page.evaluate(ROUND_TRIP, {"key": sealed.key.hex(), "digest": sealed.digest.hex(), "size": sealed.size})
    context.close()
    assert received["opened-by-browser"] == data
    assert answer["type"] == "application/pdf"
    sealed_by_browser = received["sealed-by-browser"]
    assert len(sealed_by_browser) == answer["declared"] == media.sealed_size(len(data))
    assert answer["largest"] == media.SEALED_CHUNK and answer["size"] == len(data)
    assert hashlib.sha256(sealed_by_browser).hexdigest() == answer["digest"]
    assert sealed_by_browser != ciphertext and data[:4096] not in sealed_by_browser
    assert (
        media.decrypt(sealed_by_browser, bytes.fromhex(answer["key"]), bytes.fromhex(answer["digest"]), len(data))
        == data
    )
