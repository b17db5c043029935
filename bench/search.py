"""Message search latency: a store with many messages (default 100 000 among 200 people, words
drawn Zipf-like from a Persian and English vocabulary), then searches of several kinds timed as
the store answers them (folding, SQL, rows to dicts; no HTTP).

    .venv/bin/python -m bench.search                       # SQLite in a temporary folder
    .venv/bin/python -m bench.search --postgres postgresql://postgres@127.0.0.1:5432
    .venv/bin/python -m bench.search --messages 20000 --repeat 50
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid

from store import Store
from store.operations import SendMessage

PERSIAN = (
    "سلام خوبی کجایی فردا امروز دیروز کتاب مدرسه دانشگاه کار خانه ماشین شهر تهران شیراز اصفهان "
    "غذا ناهار شام صبحانه جلسه پروژه گزارش قرارداد پول حساب بانک سفر بلیط هواپیما قطار دوست "
    "خانواده مادر پدر برادر خواهر بچه‌ها می‌خواهم می‌روم می‌آیم نمی‌دانم باشه حتما ممنون مرسی "
    "عالی خوب بد زیبا سخت آسان زود دیر ساعت دقیقه هفته ماه سال ۱۴۰۳ ۱۴۰۴ تولد مبارک"
).split()
ENGLISH = (
    "hello thanks meeting tomorrow today report project budget invoice flight ticket train "
    "coffee lunch dinner office home weekend monday friday call later sure great fine link"
).split()


def vocabulary(size: int) -> list[str]:
    words = PERSIAN + ENGLISH
    rng = random.Random(7)
    while len(words) < size:  # made-up words fill the long tail, as names and slang do
        words.append("".join(rng.choice("ابپتثجچحخدذرزسشصطعغفقکگلمنوهی") for _ in range(rng.randint(3, 8))))
    return words


async def fill(store: Store, people: list[int], messages: int, words: list[str]) -> None:
    rng = random.Random(11)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    pending = []
    for _ in range(messages):
        sender, recipient = rng.sample(people, 2)
        text = " ".join(rng.choices(words, weights, k=rng.randint(2, 14)))
        pending.append(store.submit(SendMessage(sender, recipient, text, uuid.uuid4().hex, None)))
        if len(pending) >= 2000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(url: str, messages: int, people_count: int, repeat: int) -> None:
    store = Store(url)
    await store.open(on_commit=lambda notices: None)
    try:
        people = [(await store.create_user(f"p{n}", f"Person {n}", "x")).id for n in range(people_count)]
        words = vocabulary(3000)
        started = time.perf_counter()
        await fill(store, people, messages, words)
        elapsed = time.perf_counter() - started
        print(f"  {messages} messages stored and indexed in {elapsed:.1f} s ({messages / elapsed:.0f}/s)")
        me, peer = people[0], people[1]
        cases = [
            ("common word (سلام)", "سلام", None),
            ("common word, other spelling (كتاب)", "كتاب", None),
            ("rare word", words[2500], None),
            ("two words", "جلسه فردا", None),
            ("prefix of 2 letters (خو)", "خو", None),
            ("prefix of 1 letter (م)", "م", None),
            ("digits (1403)", "1403", None),
            ("no match", "zzzzzz", None),
            ("common word, one chat", "سلام", peer),
        ]
        print(f"  {'search':40} {'hits':>5} {'p50 ms':>8} {'p99 ms':>8}")
        for label, query, peer_id in cases:
            timings = []
            for _ in range(repeat):
                started = time.perf_counter()
                found, _ = await store.search_messages(me, peer_id, query, None, 20)
                timings.append((time.perf_counter() - started) * 1000)
            print(f"  {label:40} {len(found):>5} {statistics.median(timings):>8.2f} {percentile(timings, 0.99):>8.2f}")
        page, _ = await store.search_messages(me, None, "سلام", None, 20)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            await store.search_messages(me, None, "سلام", page[-1].id, 20)
            timings.append((time.perf_counter() - started) * 1000)
        label = "common word, second page"
        print(f"  {label:40} {'':>5} {statistics.median(timings):>8.2f} {percentile(timings, 0.99):>8.2f}")
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL; a fresh database is made on it")
    parser.add_argument("--no-index", action="store_true", help="store without indexing (what indexing costs a send)")
    args = parser.parse_args()
    if args.no_index:
        from store.search import SearchRows

        SearchRows.added = lambda self, row: None
    if args.postgres:
        from tests.conftest import fresh_postgres_database

        url = fresh_postgres_database(args.postgres)
        print(f"PostgreSQL: {url}")
        asyncio.run(run(url, args.messages, args.people, args.repeat))
        return
    with tempfile.TemporaryDirectory() as folder:
        print("SQLite")
        asyncio.run(run(f"sqlite:///{folder}/search.db", args.messages, args.people, args.repeat))


if __name__ == "__main__":
    main()
