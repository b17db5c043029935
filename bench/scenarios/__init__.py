"""The bench's scenarios, one module each, in the order a full run takes them.

Each module has `KEY` (its number in the table and for `--only`), `TITLE`, and `run(bench)`.
"""

from bench.scenarios import (
    bare_relay,
    catchup,
    chat,
    held,
    postgres,
    read_path,
    steady,
    two_instances,
    web_concurrency,
)

SCENARIOS = [bare_relay, chat, steady, catchup, held, read_path, postgres, two_instances, web_concurrency]
