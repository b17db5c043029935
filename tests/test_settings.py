"""Settings from the environment: bad values stop the start with one clear line; the kept secret key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Api, register
from jose import jwt

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "name, value",
    [
        ("PORT", "abc"),
        ("PORT", "70000"),
        ("TOKEN_TTL", "5"),
        ("TOKEN_TTL", "a day"),
        ("DATABASE_URL", "mysql://x"),
        ("MAX_MESSAGE_LENGTH", "0"),
        ("SECRET_KEY", "short"),
        ("ENVIRONMENT", "staging"),
    ],
)
def test_a_bad_setting_stops_the_start_with_one_clear_line(tmp_path, name, value):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/payambar.db", "LOG_LEVEL": "warning"}
    env.pop("SECRET_KEY", None)
    env[name] = value
    result = subprocess.run(
        [sys.executable, "-c", "import app; app.app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert name in lines[0], lines[0]
    assert result.stdout == ""


def test_good_settings_build_the_app(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/payambar.db", "PORT": "8123", "TOKEN_TTL": "60"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-c", "import app; app.app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


async def test_without_secret_key_a_key_file_of_mode_0600_is_made_and_survives_a_restart(server_factory):
    server = server_factory()
    key_file = server.data_dir / "secret_key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert len(key.strip()) >= 32

    sara, omid = await register(server), await register(server)
    sent = [await sara.send(omid.username, f"before restart {n}") for n in range(3)]
    server.stop()

    again = server_factory(data_dir=server.data_dir)
    assert key_file.read_text() == key, "the kept key is reused, not replaced"
    for api in (sara, omid):
        me = await Api(again, api.token).get("/api/me")
        assert me.status_code == 200, "old tokens keep working after a restart"
        assert me.json() == api.user
    history = await Api(again, omid.token).get(f"/api/conversations/{sara.username}/messages")
    assert history.json()["messages"] == sent


async def test_a_given_secret_key_is_used_and_no_key_file_is_made(server_factory):
    key = "a-long-enough-secret-key-for-tests"
    server = server_factory(SECRET_KEY=key)
    assert not (server.data_dir / "secret_key").exists()
    api = await register(server)
    assert jwt.decode(api.token, key, algorithms=["HS256"])["sub"] == str(api.user["id"])
