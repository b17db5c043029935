"""Attacks on passwords and on the client address, performed against a server started by the
Procfile: forged X-Forwarded-For, guessing one account from many addresses, spraying one
password over many accounts, guessing on the password change, mass registration, and a login
flood meant to starve everyone else of password checks."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid

import pytest
from checks import assert_error
from helpers import PASSWORD, fresh_username
from procfile import client_from, start_procfile_server

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def procfile_server(tmp_path):
    started = []

    def start(**env: str):
        server = start_procfile_server(tmp_path / f"server{len(started)}", **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


async def _register(client, username: str | None = None) -> dict:
    body = {"username": username or fresh_username(), "password": PASSWORD}
    response = await client.post("/api/auth/register", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _login(username: str, password: str = "not the password") -> dict:
    return {"username": username, "password": password}


async def test_a_forged_forwarded_for_escapes_neither_the_pair_nor_the_account_limit(procfile_server):
    server = procfile_server()
    async with client_from(server, "127.0.0.9") as owner:
        victim = (await _register(owner))["user"]["username"]
    async with client_from(server, "127.0.0.2") as attacker:
        statuses = []
        for attempt in range(30):
            headers = {"x-forwarded-for": f"198.51.100.{attempt}"}  # ignored: 127.0.0.2 is no trusted proxy
            statuses.append((await attacker.post("/api/auth/login", json=_login(victim), headers=headers)).status_code)
        assert statuses == [401] * 10 + [429] * 20
        right = await attacker.post(
            "/api/auth/login", json=_login(victim, PASSWORD), headers={"x-forwarded-for": "1.1.1.1"}
        )
        assert_error(right, 429, "rate_limited")
    async with client_from(server, "127.0.0.3") as elsewhere:  # never logged in to the account
        assert_error(await elsewhere.post("/api/auth/login", json=_login(victim, PASSWORD)), 429, "rate_limited")
    async with client_from(server, "127.0.0.9") as owner:  # the owner's own address still gets in
        assert (await owner.post("/api/auth/login", json=_login(victim, PASSWORD))).status_code == 200


async def test_a_flood_from_ever_new_forwarded_addresses_never_keeps_the_owner_out(procfile_server):
    server = procfile_server(FORWARDED_ALLOW_IPS="127.0.0.1")
    home = {"x-forwarded-for": "192.0.2.10"}  # the owner's address, as the trusted proxy forwards it
    async with client_from(server, "127.0.0.1") as proxy:
        body = {"username": fresh_username(), "password": PASSWORD}
        response = await proxy.post("/api/auth/register", json=body, headers=home)
        assert response.status_code == 201, response.text
        owner = response.json()["user"]["username"]
    stop = asyncio.Event()
    outcomes: dict[int, int] = {}
    addresses = itertools.count()

    async def flood() -> None:
        async with client_from(server, "127.0.0.1") as attacker:
            while not stop.is_set():
                number = next(addresses)
                forged = {"x-forwarded-for": f"198.18.{number // 250 % 250}.{number % 250 + 1}"}  # new every time
                status = (await attacker.post("/api/auth/login", json=_login(owner), headers=forged)).status_code
                outcomes[status] = outcomes.get(status, 0) + 1

    loops = [asyncio.create_task(flood()) for _ in range(12)]
    try:
        await asyncio.sleep(2)
        waits, statuses = [], []
        async with client_from(server, "127.0.0.1") as real:
            for _ in range(5):
                started = time.monotonic()
                response = await real.post("/api/auth/login", json=_login(owner, PASSWORD), headers=home)
                waits.append(time.monotonic() - started)
                statuses.append(response.status_code)
                await asyncio.sleep(0.3)
            stranger = await real.post(
                "/api/auth/login", json=_login(owner, PASSWORD), headers={"x-forwarded-for": "203.0.113.50"}
            )
    finally:
        stop.set()
        await asyncio.gather(*loops)
    print(
        f"\nflood outcomes {outcomes} from {next(addresses)} addresses;"
        f" the owner's logins took {[round(w, 2) for w in waits]} s"
    )
    assert outcomes.get(429, 0) > 0, "the account was closed to addresses that never logged in to it"
    assert statuses == [200] * 5
    assert max(waits) < 3
    assert_error(stranger, 429, "rate_limited")  # a new device of the owner's waits for the flood to end
    assert outcomes.get(500, 0) == 0


async def test_spraying_one_password_over_many_usernames_is_limited_per_address(procfile_server):
    server = procfile_server(LOGIN_FAILURES_PER_ADDRESS="30")
    async with client_from(server, "127.0.0.2") as sprayer:
        statuses = []
        for attempt in range(40):
            forged = {"x-forwarded-for": f"203.0.113.{attempt}"}  # ignored: 127.0.0.2 is no trusted proxy
            response = await sprayer.post("/api/auth/login", json=_login(fresh_username(), PASSWORD), headers=forged)
            statuses.append(response.status_code)
        assert statuses == [401] * 30 + [429] * 10
        assert int(response.headers["retry-after"]) > 0
    async with client_from(server, "127.0.0.3") as someone_else:
        response = await someone_else.post("/api/auth/login", json=_login(fresh_username(), PASSWORD))
        assert_error(response, 401, "invalid_credentials")


async def test_behind_a_trusted_proxy_the_right_most_untrusted_address_counts(procfile_server):
    server = procfile_server(LOGIN_FAILURES_PER_ADDRESS="5", FORWARDED_ALLOW_IPS="127.0.0.1")
    async with client_from(server, "127.0.0.1") as proxy:
        statuses = []
        for attempt in range(8):
            # The client forged the left part; the proxy appended the address it saw.
            forwarded = {"x-forwarded-for": f"10.9.8.{attempt}, 192.0.2.77"}
            response = await proxy.post("/api/auth/login", json=_login(fresh_username()), headers=forwarded)
            statuses.append(response.status_code)
        assert statuses == [401] * 5 + [429] * 3
        other_client = {"x-forwarded-for": "10.9.8.1, 192.0.2.78"}
        response = await proxy.post("/api/auth/login", json=_login(fresh_username()), headers=other_client)
        assert_error(response, 401, "invalid_credentials")
        through_two_proxies = {"x-forwarded-for": "192.0.2.77, 127.0.0.1"}  # both trusted hops skipped
        response = await proxy.post("/api/auth/login", json=_login(fresh_username()), headers=through_two_proxies)
        assert_error(response, 429, "rate_limited")


async def test_password_change_guessing_is_limited_and_a_missing_current_password_is_422(procfile_server):
    server = procfile_server()
    async with client_from(server, "127.0.0.2") as thief:
        session = await _register(thief)
        thief.headers["authorization"] = f"Bearer {session['token']}"
        missing = await thief.post("/api/me/password", json={"new_password": "a new password"})
        assert_error(missing, 422, "invalid_input", "current_password")
        statuses = []
        for attempt in range(25):
            body = {"current_password": f"guess number {attempt}", "new_password": "a new password"}
            statuses.append((await thief.post("/api/me/password", json=body)).status_code)
        assert statuses == [403] * 5 + [429] * 20
        right = await thief.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "x" * 10})
        assert_error(right, 429, "rate_limited")
        assert int(right.headers["retry-after"]) > 0


async def test_registrations_per_address_are_limited(procfile_server):
    server = procfile_server(REGISTRATIONS_PER_HOUR="10")
    async with client_from(server, "127.0.0.4") as farm:
        for _ in range(10):
            await _register(farm)
        refused = await farm.post(
            "/api/auth/register",
            json={"username": fresh_username(), "password": PASSWORD},
            headers={"x-forwarded-for": "8.8.8.8"},
        )
        assert_error(refused, 429, "rate_limited")
        assert 0 < int(refused.headers["retry-after"]) <= 3600
    async with client_from(server, "127.0.0.5") as neighbour:
        await _register(neighbour)


async def test_a_real_user_logs_in_during_a_24_loop_login_flood(procfile_server):
    # Failure limits out of the way: every flood request costs a full bcrypt check, at the
    # production cost.
    server = procfile_server(
        BCRYPT_ROUNDS="12",
        LOGIN_FAILURES_PER_USERNAME="1000000",
        LOGIN_FAILURES_PER_ADDRESS="1000000",
        LOGIN_FAILURES_PER_USERNAME_AND_ADDRESS="1000000",
    )
    async with client_from(server, "127.0.0.1") as real:
        me = (await _register(real))["user"]["username"]
        targets = [(await _register(real))["user"]["username"] for _ in range(4)]
    stop = asyncio.Event()
    outcomes: dict[int, int] = {}

    async def flood(source: str) -> None:
        async with client_from(server, source) as attacker:
            while not stop.is_set():
                body = _login(targets[len(outcomes) % 4], uuid.uuid4().hex)
                status = (await attacker.post("/api/auth/login", json=body)).status_code
                outcomes[status] = outcomes.get(status, 0) + 1

    loops = [asyncio.create_task(flood(f"127.0.0.{30 + n}")) for n in range(24)]
    await asyncio.sleep(3)  # the queue of password checks fills
    waits, statuses = [], []
    async with client_from(server, "127.0.0.200") as real:
        for _ in range(5):
            started = time.monotonic()
            response = await real.post("/api/auth/login", json=_login(me, PASSWORD))
            waits.append(time.monotonic() - started)
            statuses.append(response.status_code)
            await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*loops)
    print(f"\nflood outcomes {outcomes}; real user's logins took {[round(w, 2) for w in waits]} s")
    assert outcomes.get(401, 0) > 0 and outcomes.get(429, 0) > 0, "the flood filled the queue"
    assert statuses == [200] * 5
    assert outcomes.get(500, 0) == 0
