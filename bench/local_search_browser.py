"""In-browser search over end-to-end encrypted messages, timed in Chromium with the PWA's own
modules (public/db.js, public/localsearch.js) over a device holding N opened messages, printed:
the time to fill the index, and per query (rare, planted, common, one letter) p50/p99 of 20 runs.

    .venv/bin/python -m bench.local_search_browser [--messages 50000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.e2ee_browser import serve_public

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))

QUERIES = ["زمستان", "ميخواهم", "كتاب", "كتاب بخوانم", "باران شب", "سلام", "س"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50_000)
    args = parser.parse_args()
    from browser_helpers import launched_chromium
    from local_search_js import SEARCH, SEED

    server = serve_public()
    try:
        for browser in launched_chromium():
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{server.server_address[1]}/api.js")
            page.evaluate(
                "async () => { const db = await import('/db.js'); await db.deleteDb(); await db.openDb('bench'); }"
            )
            started = time.perf_counter()
            page.evaluate(SEED, {"count": args.messages, "chats": ["omid", "leila", "sara"]})
            seeded = time.perf_counter() - started
            found = page.evaluate(SEARCH, {"queries": QUERIES, "rounds": 20, "peer": None})
            print(f"Chromium {browser.version}: {args.messages} opened messages (10-300 characters) in 3 chats")
            print(f"  index filled in {seeded:.1f} s ({args.messages / seeded:.0f} messages/s)")
            for query, row in found.items():
                times = sorted(row["times"])
                p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(0.99 * len(times)))]
                print(f"  {query!r:<16} {len(row['ids']):>3} hits   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
            page.evaluate("async () => (await import('/db.js')).deleteDb()")
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
