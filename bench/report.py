"""Figures out of raw samples, one table on the terminal, one JSON file per run."""

from __future__ import annotations

import json
import math
from array import array
from pathlib import Path


def samples(chunks: list[bytes]) -> list[int]:
    """Microsecond samples from the workers' array('q') bytes, merged and sorted."""
    out = array("q")
    for c in chunks:
        out.frombytes(c)
    return sorted(out)


def pct(sorted_us: list[int], p: float) -> float | None:
    """The p-th percentile (nearest rank) in milliseconds."""
    if not sorted_us:
        return None
    k = max(0, min(len(sorted_us) - 1, math.ceil(p / 100 * len(sorted_us)) - 1))
    return sorted_us[k] / 1000


def dist(sorted_us: list[int]) -> dict:
    return {
        "n": len(sorted_us),
        "p50": pct(sorted_us, 50),
        "p99": pct(sorted_us, 99),
        "p999": pct(sorted_us, 99.9),
        "max": sorted_us[-1] / 1000 if sorted_us else None,
    }


class Table:
    """Rows of (scenario, figure, value, target, met, ratio to the bare relay)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(
        self,
        scenario: str,
        figure: str,
        value: float | str | None,
        unit: str = "",
        *,
        target: str = "",
        met: bool | None = None,
        ratio: float | str | None = None,  # a string: several ratios, shown as given
        fmt: str = "{:,.1f}",
    ) -> None:
        if isinstance(value, (int, float)) and value is not None:
            shown = fmt.format(value)
        else:
            shown = "—" if value is None else str(value)
        self.rows.append(
            {
                "scenario": scenario,
                "figure": figure,
                "value": value,
                "shown": f"{shown} {unit}".strip(),
                "target": target,
                "met": met,
                "ratio": ratio,
            }
        )

    def render(self) -> str:
        head = ("scenario", "figure", "value", "target", "met", "× relay")
        body = []
        for r in self.rows:
            met = "" if r["met"] is None else ("yes" if r["met"] else "NO")
            ratio = "" if r["ratio"] is None else r["ratio"] if isinstance(r["ratio"], str) else f"{r['ratio']:.2f}"
            body.append((r["scenario"], r["figure"], r["shown"], r["target"], met, ratio))
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
        line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"  # noqa: E731
        out = [line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
        out += [line(b) for b in body]
        return "\n".join(out)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False))


SCALE_OUT = (
    ("2_chat", "SQLite, 1 process (2)"),
    ("8_postgres", "PostgreSQL, 1 process, in-process broadcaster (8)"),
    ("pg-redis-1", "PostgreSQL + Redis, 1 instance (9)"),
    ("pg-redis-2", "PostgreSQL + Redis, 2 instances (9)"),
    ("pg-redis-wc2", "PostgreSQL + Redis, WEB_CONCURRENCY=2 (10)"),
)


def scale_out_summary(data: dict) -> str:
    """What scale-out costs per message and what it buys: the chat pattern's runs side by side."""
    runs = [(label, data["scenarios"][key]) for key, label in SCALE_OUT if key in data["scenarios"]]
    if not runs:
        return ""
    base = data["scenarios"].get("2_chat", {}).get("rate")
    num = lambda v, f="{:,.0f}": "—" if v is None else f.format(v)  # noqa: E731
    out = [
        "| setup | msg/s | × SQLite | server µs/msg | PostgreSQL µs/msg | Redis µs/msg | total µs/msg"
        " | p50 / p99 ms | CPU % server / generator / machine (others) | stored once, live, in order |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, r in runs:
        srv = r["server"]
        machine, server = srv.get("machine_busy_pct") or 0, srv.get("cpu_pct") or 0
        ours = server + r["gen_cpu_pct"] + (r.get("postgres_cpu_pct") or 0) + (r.get("redis_cpu_pct") or 0)
        others = max(0.0, machine - ours)
        parts = [r.get("server_us_per_msg"), r.get("postgres_us_per_msg"), r.get("redis_us_per_msg")]
        total = sum(x for x in parts if x is not None) if parts[0] is not None else None
        stored = r.get("stored", {})
        live = r.get("live_ok")
        checks = ("yes" if stored.get("ok") else "NO") + (
            "" if live is None else (", yes" if live else ", NO") + f" ({r.get('seq_gaps', 0)} gaps)"
        )
        out.append(
            f"| {label} | {num(r['rate'])} | {num(r['rate'] / base if base else None, '{:.2f}')}"
            f" | {num(parts[0])} | {num(parts[1])} | {num(parts[2])} | {num(total)}"
            f" | {num(r['deliver']['p50'], '{:.1f}')} / {num(r['deliver']['p99'], '{:.1f}')}"
            f" | {server:.0f} / {r['gen_cpu_pct']:.0f} ({r['gen_processes']}p) / {machine:.0f} ({others:.0f})"
            f"{' BUSY' if others >= 20 else ''} | {checks} |"
        )
    return "\n".join(out)


def main() -> None:
    """Print the table of a results file (default: the latest full run) as Markdown, for the README."""
    import sys

    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "results" / "latest.json"
    data = json.loads(path.read_text())
    m = data["meta"]
    t = Table()
    t.rows = data["table"]
    print(
        f"{m['date']}, commit {m['commit']}, {m['machine']}; machine CPU busy before the run: "
        f"{data.get('machine_busy_before_pct', 0):.0f} % of all cores; run took {m['elapsed_s']:.0f} s.\n"
    )
    print(t.render())
    for g in m.get("generator_cpu", []):
        print(
            f"\ngenerator CPU in {g['scenario']}: {g['pct']:.0f} % of one core over {g['processes']} process(es)",
            end="",
        )
    print()
    summary = scale_out_summary(data)
    if summary:
        print("\nScale-out, the chat pattern side by side:\n")
        print(summary)


if __name__ == "__main__":
    main()
