"""Generator processes (bench/gen.py roles), driven in lock step from the bench's process."""

from __future__ import annotations

import multiprocessing as mp
import time

from bench import gen

CTX = mp.get_context("fork")


class Workers:
    """Generator processes of one role, driven in lock step through their phases."""

    def __init__(self, role: str, cfgs: list[dict]):
        self.items = []
        for cfg in cfgs:
            parent, child = CTX.Pipe()
            p = CTX.Process(target=gen.worker, args=(role, cfg, child), daemon=True)
            p.start()
            self.items.append((p, parent))

    def expect(self, tag: str, timeout: float) -> list:
        out = []
        deadline = time.monotonic() + timeout
        for _, conn in self.items:
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                raise TimeoutError(f"a generator did not report {tag!r} in {timeout:.0f}s")
            msg = conn.recv()
            if msg[0] == "failed":
                raise RuntimeError(f"a generator failed: {msg[1]}")
            if msg[0] != tag:
                raise RuntimeError(f"expected {tag!r} from a generator, got {msg[0]!r}")
            out.append(msg[1])
        return out

    def send(self, *msg) -> None:
        for _, conn in self.items:
            conn.send(msg)

    def close(self) -> None:
        for p, _ in self.items:
            p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(2)


def split(items: list, n: int) -> list[list]:
    return [items[i::n] for i in range(n) if items[i::n]]
