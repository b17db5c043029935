"""TURN credentials against a real coturn (`use-auth-secret`): what the server hands out lets a
client allocate a relay; an expired one, or one made with another secret, is refused."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
from test_calls import friends
from turn_server import TurnServer

from calls.turn import ice_servers

UCLIENT = shutil.which("turnutils_uclient") or "/usr/bin/turnutils_uclient"


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    server = TurnServer(tmp_path_factory.mktemp("coturn")).start()
    yield server
    server.stop()


def allocates(turn: TurnServer, username: str, password: str, tcp: bool = False) -> bool:
    """Whether coturn grants an allocation (and relays a few packets) for these credentials."""
    command = [UCLIENT, "-y", "-n", "2", "-m", "1", "-l", "120", "-u", username, "-w", password]
    command += ["-t"] if tcp else []
    command += ["-p", str(turn.port), "127.0.0.1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    totals = re.findall(r"start_mclient: tot_send_msgs=(\d+), tot_recv_msgs=(\d+)", done.stdout + done.stderr)
    return done.returncode == 0 and bool(totals) and int(totals[-1][1]) > 0


def credentials(answer: dict) -> tuple[str, str]:
    [relay] = [server for server in answer["ice_servers"] if "credential" in server]
    return relay["username"], relay["credential"]


async def test_the_servers_credentials_allocate_over_udp_and_tcp(turn, server_factory):
    server = server_factory(TURN_URLS=turn.urls, TURN_SECRET=turn.secret)
    caller, callee = await friends(server)
    answer = (await caller.get("/api/calls/ice-servers", params={"peer": callee.username})).json()
    username, password = credentials(answer)
    assert allocates(turn, username, password)
    assert allocates(turn, username, password, tcp=True)


def test_expired_credentials_are_refused_by_coturn(turn):
    expired = ice_servers((turn.urls.split(",")[0],), turn.secret, 42, 3600, now=time.time() - 3601)
    username, password = credentials(expired)
    assert int(username.split(":")[0]) < time.time()
    assert not allocates(turn, username, password)
    fresh = ice_servers((turn.urls.split(",")[0],), turn.secret, 42, 3600)
    assert allocates(turn, *credentials(fresh))  # the same user, in time: granted


def test_credentials_made_with_another_secret_are_refused(turn):
    forged = ice_servers((turn.urls.split(",")[0],), "not-the-coturn-secret", 42, 3600)
    assert not allocates(turn, *credentials(forged))


def test_credentials_never_last_more_than_an_hour():
    answer = ice_servers(("turn:turn.example:3478",), "s" * 16, 7, 10 * 3600, now=1000)
    assert answer["expires_at"] == 1000 + 3600
