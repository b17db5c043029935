"""The Payambar load bench: `python -m bench.run` (see bench/README.md)."""
