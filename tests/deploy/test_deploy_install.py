"""deploy/install.sh in a throwaway root (--prefix): what it writes, that systemd, Caddy and
coturn accept it, that the installed app starts, that --update keeps the settings byte for byte,
and that --uninstall keeps the data unless --purge."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import ROOT, free_port
from services import need

from push.keys import load as load_vapid_key

INSTALL = ROOT / "deploy" / "install.sh"
DOMAIN = "chat.example.org"


def install(prefix: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", str(INSTALL), *args, "--prefix", str(prefix)], capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def settings_of(prefix: Path) -> dict[str, str]:
    lines = (prefix / "etc/payambar/payambar.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def every_file(prefix: Path) -> dict[str, tuple[float, str]]:
    """path -> (modification time, SHA-256) of everything the script wrote, the venv's packages apart."""
    found = {}
    for path in prefix.rglob("*"):
        if path.is_file() and "site-packages" not in path.parts and "__pycache__" not in path.parts:
            found[str(path.relative_to(prefix))] = (path.stat().st_mtime, hashlib.sha256(path.read_bytes()).hexdigest())
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("root")
    result = install(prefix, "--install", "--domain", DOMAIN, "--email", "ops@example.org", "--turn")
    return prefix, result


def test_install_writes_the_app_a_venv_the_data_folder_and_settings_with_generated_keys_mode_0600(installed):
    prefix, result = installed
    assert (prefix / "opt/payambar/app/app.py").is_file()
    assert (prefix / "opt/payambar/venv/bin/litestream").is_file(), "the pinned Litestream comes with the venv"
    assert (prefix / "var/lib/payambar").is_dir()
    assert not (prefix / "opt/payambar/app/.git").exists()
    env_file = prefix / "etc/payambar/payambar.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    settings = settings_of(prefix)
    assert len(settings["SECRET_KEY"]) >= 48
    load_vapid_key(settings["VAPID_PRIVATE_KEY"])  # a key the server accepts
    assert settings["HOST"] == "127.0.0.1" and settings["FORWARDED_ALLOW_IPS"] == "127.0.0.1"
    assert settings["DATABASE_URL"] == "sqlite:////var/lib/payambar/payambar.db"
    assert settings["TURN_URLS"].split(",")[0] == f"turn:{DOMAIN}:3478?transport=udp"
    assert len(settings["TURN_SECRET"]) >= 48
    assert "(dry run) would run: systemctl" in result.stdout and "useradd" not in result.stdout


def test_the_installed_app_starts_from_its_unit_command_with_its_settings(installed, tmp_path):
    prefix, _ = installed
    settings = settings_of(prefix)
    data = tmp_path / "data"
    port = free_port()
    env = {
        **settings,
        "PATH": f"{prefix}/opt/payambar/venv/bin:/usr/bin:/bin",
        "HOME": str(data),
        "PORT": str(port),
        "DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{data}/payambar.db",
    }
    server = subprocess.Popen(
        [str(prefix / "opt/payambar/app/deploy/run-web")], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the installed server did not answer"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        with socket.socket() as probe:  # HOST=127.0.0.1: only Caddy, on this box, reaches it
            assert probe.connect_ex(("127.0.0.1", port)) == 0
    finally:
        server.terminate()
        server.wait(20)


def test_the_unit_passes_systemd_analyze_verify(installed, tmp_path):
    need(shutil.which("systemd-analyze") is not None, "systemd-analyze")
    prefix, _ = installed
    units = tmp_path / "units"
    units.mkdir()
    for name in ("payambar.service", "payambar-turn-certificate.service", "payambar-turn-certificate.timer"):
        text = (prefix / "etc/systemd/system" / name).read_text()
        # The unit's paths point into the throwaway root, so verify finds the command it starts.
        for path in ("/opt/payambar", "/var/lib/payambar", "/etc/payambar"):
            text = text.replace(path, f"{prefix}{path}")
        (units / name).write_text(text)
    unit = (units / "payambar.service").read_text()
    for hardening in ("ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "LimitNOFILE=131072",
                      "Restart=on-failure", "KillMode=mixed", f"ReadWritePaths={prefix}/var/lib/payambar"):  # fmt: skip
        assert hardening in unit
    stop_seconds = int(unit.split("TimeoutStopSec=")[1].split()[0])
    assert 10 < stop_seconds <= 30, "time to drain (10 s in the Procfile) and for Litestream's last sync"
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(path) for path in sorted(units.iterdir()))],
        capture_output=True,
        text=True,
        env={**os.environ, "SYSTEMD_LOG_LEVEL": "notice"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # not even a warning


def test_the_caddyfile_passes_caddy_validate_and_proxies_to_the_app(installed):
    need(shutil.which("caddy") is not None, "caddy")
    prefix, _ = installed
    caddyfile = prefix / "etc/caddy/Caddyfile"
    text = caddyfile.read_text()
    assert f"{DOMAIN} {{" in text and "reverse_proxy 127.0.0.1:8000" in text
    result = subprocess.run(
        ["caddy", "validate", "--config", str(caddyfile), "--adapter", "caddyfile"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "Valid configuration" in result.stdout + result.stderr, result.stderr


def test_coturn_starts_with_the_written_configuration(installed, tmp_path):
    need(shutil.which("turnserver") is not None, "coturn (turnserver)")
    prefix, _ = installed
    text = (prefix / "etc/turnserver.conf").read_text()
    assert "use-auth-secret" in text and f"static-auth-secret={settings_of(prefix)['TURN_SECRET']}" in text
    assert "denied-peer-ip=127.0.0.0-127.255.255.255" in text
    port, tls_port = free_port(), free_port()
    text = text.replace("listening-port=3478", f"listening-port={port}\nlistening-ip=127.0.0.1")
    text = text.replace("tls-listening-port=5349", f"tls-listening-port={tls_port}")
    conf = tmp_path / "turnserver.conf"
    conf.write_text(text)
    server = subprocess.Popen(["turnserver", "-c", str(conf), "--pidfile", str(tmp_path / "pid")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            assert server.poll() is None, server.stdout.read().decode()
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert time.monotonic() < deadline, "coturn did not listen"
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(10)


def test_update_twice_keeps_the_settings_byte_for_byte_and_the_second_changes_nothing(installed):
    prefix, _ = installed
    settings_bytes = (prefix / "etc/payambar/payambar.env").read_bytes()
    install(prefix, "--update")
    after_first = every_file(prefix)
    second = install(prefix, "--update")
    assert "nothing to change" in second.stdout
    assert every_file(prefix) == after_first, "a second run writes nothing"
    assert (prefix / "etc/payambar/payambar.env").read_bytes() == settings_bytes


def test_turns_on_443_binds_caddy_to_the_web_address_and_coturn_to_the_second(tmp_path):
    prefix = tmp_path / "root"
    install(prefix, "--install", "--domain", DOMAIN, "--turns-443", "turn.example.org=203.0.113.7",
            "--web-ip", "203.0.113.6")  # fmt: skip
    settings = settings_of(prefix)
    assert "turns:turn.example.org:443?transport=tcp" in settings["TURN_URLS"].split(",")
    caddyfile = (prefix / "etc/caddy/Caddyfile").read_text()
    assert "bind 203.0.113.6" in caddyfile and "bind 203.0.113.7" in caddyfile
    turn = (prefix / "etc/turnserver.conf").read_text()
    assert "listening-ip=203.0.113.7" in turn and "alt-tls-listening-port=443" in turn
    if shutil.which("caddy"):
        result = subprocess.run(["caddy", "validate", "--config", str(prefix / "etc/caddy/Caddyfile"), "--adapter",
                                 "caddyfile"], capture_output=True, text=True)  # fmt: skip
        assert result.returncode == 0, result.stderr
    before = (prefix / "etc/payambar/payambar.env").read_bytes()
    install(prefix, "--update")
    assert (prefix / "etc/caddy/Caddyfile").read_text() == caddyfile, "--update keeps the 443 arrangement"
    assert (prefix / "etc/payambar/payambar.env").read_bytes() == before

    (prefix / "var/lib/payambar/payambar.db").write_bytes(b"the data")
    install(prefix, "--uninstall")
    assert not (prefix / "opt/payambar").exists() and not (prefix / "etc/systemd/system/payambar.service").exists()
    assert not (prefix / "etc/caddy/Caddyfile").exists() and not (prefix / "etc/turnserver.conf").exists()
    assert (prefix / "var/lib/payambar/payambar.db").read_bytes() == b"the data", "the data stays"
    assert (prefix / "etc/payambar/payambar.env").read_bytes() == before, "the settings stay"
    install(prefix, "--uninstall", "--purge")
    assert not (prefix / "var/lib/payambar").exists() and not (prefix / "etc/payambar").exists()
