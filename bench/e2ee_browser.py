"""End-to-end encryption timings in Chromium with the PWA's own modules (public/crypto/), printed:
one message sealed and opened (p50/p99), the first message to a new device (the handshake, seal
and open), and a device's keystore saved to IndexedDB and loaded back.

    .venv/bin/python -m bench.e2ee_browser [--messages 500]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path

PUBLIC = Path(__file__).resolve().parents[1] / "public"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

BENCH = """
async (messages) => {
  const { DeviceState, recipient } = await import('/crypto/session.js');
  const { Keystore, DeviceStore } = await import('/crypto/device.js');
  const text = 'سلام دوست من، امروز هوا خیلی خوب است و ما به پارک رفتیم تا کمی قدم بزنیم و چای بنوشیم. ';
  const inner = (n) => ({ v: 1, kind: 'text', text: text.repeat(2).slice(0, 140), sent_at: n });
  const device = (userId) => Keystore.newDevice(userId);
  const quantile = (values, q) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  };
  const sender = device(1);
  const handshakeSeal = [];
  const handshakeOpen = [];
  const readers = [];
  for (let i = 0; i < 20; i += 1) {
    const reader = device(2);
    const to = [recipient(2, reader.device.deviceId, reader.bundle(), null)];
    let t = performance.now();
    const data = await sender.device.seal(2, to, inner(i), `h${i}`);
    handshakeSeal.push(performance.now() - t);
    t = performance.now();
    await reader.device.open(data, 1, 2, `h${i}`, sender.device.identityDh);
    handshakeOpen.push(performance.now() - t);
    readers.push(reader);
  }
  const reader = readers[readers.length - 1];
  const to = [recipient(2, reader.device.deviceId)];
  const steady = [];
  for (let i = 0; i < 50 + messages; i += 1) {
    // one sending chain, no reply: what each message of a run costs (the first 50 warm the JIT)
    const t0 = performance.now();
    const data = await sender.device.seal(2, to, inner(i), `s${i}`);
    await reader.device.open(data, 1, 2, `s${i}`, sender.device.identityDh);
    if (i >= 50) steady.push(performance.now() - t0);
  }
  const seal = [];
  const open = [];
  const both = [];
  for (let i = 0; i < messages; i += 1) {
    const t0 = performance.now();
    const data = await sender.device.seal(2, to, inner(i), `m${i}`);
    const t1 = performance.now();
    await reader.device.open(data, 1, 2, `m${i}`, sender.device.identityDh);
    const t2 = performance.now();
    seal.push(t1 - t0);
    open.push(t2 - t1);
    both.push(t2 - t0);
    if (i % 10 === 9) {
      // a reply now and then, so both sides take DH ratchet steps as in a chat
      const back = await reader.device.seal(1, [recipient(1, sender.device.deviceId)], inner(i), `r${i}`);
      await sender.device.open(back, 2, 1, `r${i}`, reader.device.identityDh);
    }
  }
  const store = await DeviceStore.open(999999);
  const saves = [];
  const loads = [];
  for (let i = 0; i < 50; i += 1) {
    let t = performance.now();
    await store.save(sender);
    saves.push(performance.now() - t);
    store.cached = null;
    t = performance.now();
    await store.load();
    loads.push(performance.now() - t);
  }
  await store.destroy();
  const row = (values) => ({ p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: Math.max(...values) });
  return {
    steady_chain: row(steady), seal: row(seal), open: row(open), seal_and_open: row(both),
    handshake_seal: row(handshakeSeal), handshake_open: row(handshakeOpen),
    keystore_save: row(saves), keystore_load: row(loads),
    keystore_bytes: JSON.stringify(sender.asJson()).length,
  };
}
"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve_public() -> http.server.ThreadingHTTPServer:
    handler = functools.partial(QuietHandler, directory=str(PUBLIC))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    from browser_helpers import launched_chromium

    server = serve_public()
    try:
        for browser in launched_chromium():
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/api.js")
            print(f"Chromium {browser.version}, {args.messages} messages of 140 characters to one device")
            print("  steady_chain: seal+open, no replies; seal/open/seal_and_open: a reply every 10th (DH steps)")
            figures = page.evaluate(BENCH, args.messages)
            for name, row in figures.items():
                if isinstance(row, dict):
                    print(
                        f"  {name:<16} p50 {row['p50']:7.2f} ms   p99 {row['p99']:7.2f} ms   max {row['max']:7.2f} ms"
                    )
            print(f"  keystore JSON    {figures['keystore_bytes']} bytes (20 sessions)")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
