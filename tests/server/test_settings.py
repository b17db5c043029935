"""Settings from the environment: bad values stop the start with one clear line; the kept secret key.

Each case builds the app in its own process (`import app; app.app`, what uvicorn does); the
processes run side by side, started once for the module. A restart keeping tokens and messages
is in test_persistence.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BAD_SETTINGS = [
    ("PORT", "abc"),
    ("PORT", "70000"),
    ("TOKEN_TTL", "5"),
    ("TOKEN_TTL", "a day"),
    ("DATABASE_URL", "mysql://x"),
    ("MAX_MESSAGE_LENGTH", "0"),
    ("SECRET_KEY", "short"),
    ("ENVIRONMENT", "staging"),
    ("BCRYPT_ROUNDS", "3"),
    ("BCRYPT_ROUNDS", "17"),
    ("VAPID_PRIVATE_KEY", "not-a-key"),
    ("VAPID_SUBJECT", "admin@example.com"),
    ("PUSH_ALLOW_PRIVATE", "maybe"),
    ("PUSH_CA_FILE", "/nonexistent/ca.pem"),
    ("BACKUP_REPLICA_URL", "https://bucket.example/prefix"),
    ("BACKUP_REPLICA_URL", "s3://payambar-backups/box"),  # no BACKUP_AGE_KEY: never a plaintext backup
]
GIVEN_KEY = "a-long-enough-secret-key-for-tests"
GOOD_SETTINGS = {
    "no key": {},
    "no key again": {},  # the same data folder as "no key", built after it
    "given key": {"SECRET_KEY": GIVEN_KEY},
    "production without key": {"ENVIRONMENT": "production"},
}


def _start(data_dir: Path, **overrides: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{data_dir}/payambar.db", "LOG_LEVEL": "warning"}
    env.pop("SECRET_KEY", None)
    env.pop("ENVIRONMENT", None)
    env.pop("DATA_DIR", None)
    env.update(overrides)
    command = [sys.executable, "-c", "import app; app.app"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """(exit code, stdout, stderr, data folder) of building the app under each setting."""
    folders = {name: tmp_path_factory.mktemp("settings") for name in [*BAD_SETTINGS, *GOOD_SETTINGS]}
    folders["no key again"] = folders["no key"]
    running = {case: _start(folders[case], **{case[0]: case[1]}) for case in BAD_SETTINGS}
    running.update(
        {name: _start(folders[name], **env) for name, env in GOOD_SETTINGS.items() if name != "no key again"}
    )
    results = {case: (*_finish(process), folders[case]) for case, process in running.items()}
    first_key = (folders["no key"] / "secret_key").read_text()
    results["no key again"] = (*_finish(_start(folders["no key"])), folders["no key"])
    results["first key"] = first_key
    return results


@pytest.mark.parametrize("case", BAD_SETTINGS, ids=lambda case: f"{case[0]}={case[1]}")
def test_a_bad_setting_stops_the_start_with_one_clear_line(builds, case):
    returncode, stdout, stderr, _ = builds[case]
    assert returncode != 0
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert case[0] in lines[0], lines[0]
    assert stdout == ""


def test_production_refuses_a_bcrypt_cost_below_12(tmp_path):
    returncode, stdout, stderr = _finish(_start(tmp_path, ENVIRONMENT="production", BCRYPT_ROUNDS="10"))
    assert returncode != 0 and "BCRYPT_ROUNDS" in stderr and "Traceback" not in stderr
    assert _finish(_start(tmp_path, ENVIRONMENT="production", BCRYPT_ROUNDS="13"))[0] == 0


def test_good_settings_build_the_app_quietly(builds):
    for name in ("no key", "no key again", "given key"):
        returncode, stdout, stderr, _ = builds[name]
        assert (returncode, stdout, stderr) == (0, "", ""), name


def test_without_secret_key_a_key_file_of_mode_0600_is_made_in_the_data_folder(builds):
    *_, data_dir = builds["no key"]
    key_file = data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text().strip()) >= 32


def test_the_kept_key_is_reused_by_the_next_start(builds):
    *_, data_dir = builds["no key again"]
    assert (data_dir / "secret_key").read_text() == builds["first key"]


def test_a_given_secret_key_makes_no_key_file(builds):
    *_, data_dir = builds["given key"]
    assert not (data_dir / "secret_key").exists()


def test_production_without_secret_key_warns_once_and_still_starts(builds):
    returncode, _, stderr, data_dir = builds["production without key"]
    assert returncode == 0, stderr
    assert "SECRET_KEY" in stderr and "Traceback" not in stderr
    assert (data_dir / "secret_key").exists()


async def test_bcrypt_rounds_sets_the_cost_of_new_hashes_and_older_hashes_keep_working(server_factory, tmp_path):
    import sqlite3

    from helpers import PASSWORD, Api, register

    def cost_of(server, username: str) -> str:
        with sqlite3.connect(server.database_file) as db:
            (password_hash,) = db.execute("SELECT password_hash FROM users WHERE username = ?", (username,)).fetchone()
        return password_hash[4:6]

    database = f"sqlite:///{tmp_path}/shared/payambar.db"
    (tmp_path / "shared").mkdir()
    cheap = server_factory(tmp_path / "shared", DATABASE_URL=database, BCRYPT_ROUNDS="4")
    api = await register(cheap)
    assert cost_of(cheap, api.username) == "04"
    await api.close()
    cheap.stop()
    dear = server_factory(tmp_path / "shared", DATABASE_URL=database, BCRYPT_ROUNDS="12")
    again = Api(dear)
    answer = await again.post("/api/auth/login", json={"username": api.username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    again.token = answer.json()["token"]
    changed = await again.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": PASSWORD + "-new"}
    )
    assert changed.status_code == 200, changed.text
    assert cost_of(dear, api.username) == "12"
    await again.close()
