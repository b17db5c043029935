"""Operator commands: `python -m payambar status|backup FILE|restore FILE`."""
