"""Summarise a py-spy `--format raw` profile (collapsed stacks): what costs most.

    python -m bench.profile bench/results/profile-chat.txt [--per-message-us 150] [--top 30]

Prints the functions with the most samples on top of the stack (self) and anywhere on it
(inclusive), as shares of all samples; with --per-message-us (the server's CPU µs per message,
which the bench prints) also as µs per message.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

# Leaves where py-spy (without --native, which cannot be nonblocking) sees a waiting thread as busy.
IDLE_LEAVES = ("aiosqlite/core.py:59)", "concurrent/futures/thread.py:81)", "threading.py:327)", "threading.py:320)")
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    f = m["file"]
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in f:
            f = f.split(marker, 1)[1]
    return f"{m['func']} ({f})"


def summarise(path: Path, top: int = 30) -> dict:
    self_c: Counter = Counter()
    incl_c: Counter = Counter()
    total = 0
    idle = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        n = int(n)
        raw = [f for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
        if not raw:
            continue
        if any(w in raw[-1] for w in IDLE_LEAVES):  # a worker thread waiting for work is not a cost
            idle += n
            continue
        frames = [short(f) for f in raw]
        total += n
        leaf = frames[-1]
        self_c[leaf] += n
        for f in set(frames):
            incl_c[f] += n
    return {"total": total, "idle": idle, "self": self_c.most_common(top), "inclusive": incl_c.most_common(top)}


def render(s: dict, per_message_us: float | None = None) -> str:
    out = [
        f"{s['total']} busy samples ({s['idle']} more were worker threads waiting for work, left out);"
        " 'Runner.run' on top means uvloop's own C code: socket reads and writes, callbacks, epoll"
    ]
    for title, rows in (("self (top of stack)", s["self"]), ("inclusive (anywhere on the stack)", s["inclusive"])):
        out.append(f"\n{title}:")
        for func, n in rows:
            share = n / max(1, s["total"])
            us = f"  {share * per_message_us:7.1f} µs/msg" if per_message_us else ""
            out.append(f"  {100 * share:5.1f} %{us}  {func}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--per-message-us", type=float)
    ap.add_argument("--top", type=int, default=30)
    a = ap.parse_args()
    print(render(summarise(a.path, a.top), a.per_message_us))


if __name__ == "__main__":
    main()
