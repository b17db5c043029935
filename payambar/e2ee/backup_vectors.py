"""Builds docs/e2ee-backup-vectors.json: a history sealed under a fixed recovery key (docs/e2ee.md
§14). `python -m payambar.e2ee.backup_vectors` remakes the file; the tests rebuild it and compare."""

from __future__ import annotations

import json
from pathlib import Path

from payambar.e2ee import backup
from payambar.e2ee.primitives import b64, sha256

VECTORS_FILE = Path(__file__).resolve().parents[2] / "docs" / "e2ee-backup-vectors.json"
USER_ID = 7


def fixed(label: str, length: int = 32) -> bytes:
    """A fixed 'random' value: SHA-256 of its label, as in docs/e2ee-vectors.json. Test vectors only."""
    return sha256(f"payambar test vector {label}".encode())[:length]


def build() -> dict:
    recovery_key = fixed("recovery key")
    history = {message_id: fixed(f"history content key {message_id}") for message_id in (3, 41, 2**40 + 5)}
    nonce = fixed("backup nonce", backup.NONCE_BYTES)
    written = backup.format_recovery_key(recovery_key)
    sealed = backup.seal_backup(recovery_key, USER_ID, history, nonce)
    typo = written[:5] + ("B" if written[5] != "B" else "C") + written[6:]
    return {
        "user_id": USER_ID,
        "recovery_key": recovery_key.hex(),
        "check": backup._check(recovery_key).hex(),
        "written": written,
        "backup_key": backup.backup_key(recovery_key, USER_ID).hex(),
        "associated_data": backup.associated_data(USER_ID).hex(),
        "history": [{"message_id": id_, "content_key": key.hex()} for id_, key in sorted(history.items())],
        "history_bytes": backup.history_bytes(history).hex(),
        "nonce": nonce.hex(),
        "sealed": sealed.hex(),
        "sealed_b64": b64(sealed),
        "refused_written": [typo, written[:-5], written.replace("-", "").lower()[:-1] + "1"],
        "accepted_written": [written.lower(), written.replace("-", " "), written.replace("-", "")],
        "wrong_recovery_key": fixed("another recovery key").hex(),
    }


def main() -> None:
    VECTORS_FILE.write_text(json.dumps(build(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
