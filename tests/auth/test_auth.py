"""Accounts over HTTP: register, log in, refresh, log out, /api/me and the password."""

from __future__ import annotations

import asyncio
import time

import pytest
from checks import assert_error
from helpers import PASSWORD, Api, fresh_username, register
from jose import jwt

KEY = "a-test-signing-key-of-enough-length"


@pytest.fixture(scope="module")
async def shared_user(live_server):
    api = await register(live_server)
    yield api
    await api.close()


def _assert_session_answer(body: dict, username: str) -> None:
    assert set(body) == {"token", "expires_at", "user"}
    assert isinstance(body["token"], str) and body["token"].count(".") == 2
    assert body["expires_at"].endswith("Z")
    assert body["user"]["username"] == username
    assert isinstance(body["user"]["id"], int)


async def test_register_answers_201_with_token_expiry_and_own_user(live_server):
    api = Api(live_server)
    username = fresh_username("Reg")
    response = await api.post("/api/auth/register", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    _assert_session_answer(body, username)
    user = body["user"]
    assert set(user) == {"id", "username", "display_name", "bio", "created_at", "avatar", "last_seen_visibility"}
    assert user["display_name"] == username and user["bio"] == ""
    assert user["created_at"].startswith("20") and user["created_at"].endswith("Z")
    await api.close()


async def test_register_keeps_a_given_display_name(live_server):
    api = Api(live_server)
    body = {"username": fresh_username(), "password": PASSWORD, "display_name": "سارا Sara"}
    response = await api.post("/api/auth/register", json=body)
    assert response.status_code == 201
    assert response.json()["user"]["display_name"] == "سارا Sara"
    await api.close()


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 33, "has space", "dash-name", "dot.name", "سلام", "abc\n", "", None, 123, ["abc"]],
    ids=repr,
)
async def test_register_refuses_a_username_outside_the_rules(live_server, username):
    api = Api(live_server)
    response = await api.post("/api/auth/register", json={"username": username, "password": PASSWORD})
    assert_error(response, 422, "invalid_input", "username")
    await api.close()


async def test_register_accepts_usernames_of_3_and_32_characters(live_server):
    short = fresh_username("")[:3].upper()
    long = fresh_username("Long_")[:20].ljust(32, "_")
    results = await asyncio.gather(register(live_server, short), register(live_server, long))
    assert [api.username for api in results] == [short, long]


async def test_register_refuses_a_username_taken_in_another_case(live_server, shared_user):
    response = await Api(live_server).post(
        "/api/auth/register", json={"username": shared_user.username.swapcase(), "password": PASSWORD}
    )
    assert_error(response, 409, "username_taken")


@pytest.mark.parametrize(
    "password",
    ["1234567", "ب" * 7, "ب" * 73, "x" * 73, "", None, 12345678],
    ids=["7 characters", "7 persian characters", "73 persian characters", "73 characters", "empty", "null", "number"],
)
async def test_register_refuses_a_password_outside_8_to_72_characters(live_server, password):
    api = Api(live_server)
    response = await api.post("/api/auth/register", json={"username": fresh_username(), "password": password})
    assert_error(response, 422, "invalid_input", "password")
    await api.close()


async def test_a_password_of_72_persian_characters_registers_and_every_character_counts(live_server):
    password = "ب" * 72  # 144 bytes: more than bcrypt reads by itself
    api = await register(live_server, password=password)
    response = await Api(live_server).post("/api/auth/login", json={"username": api.username, "password": password})
    assert response.status_code == 200
    last_differs = {"username": api.username, "password": password[:-1] + "پ"}
    assert_error(await Api(live_server).post("/api/auth/login", json=last_differs), 401, "invalid_credentials")


async def test_register_refuses_a_display_name_over_64_characters(live_server):
    api = Api(live_server)
    body = {"username": fresh_username(), "password": PASSWORD, "display_name": "n" * 65}
    assert_error(await api.post("/api/auth/register", json=body), 422, "invalid_input", "display_name")
    await api.close()


async def test_login_ignores_the_case_of_the_username(live_server, shared_user):
    api = shared_user
    response = await Api(live_server).post(
        "/api/auth/login", json={"username": api.username.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    _assert_session_answer(body, api.username)
    me = await Api(live_server, body["token"]).get("/api/me")
    assert me.json()["id"] == api.user["id"]


async def test_login_with_a_wrong_password_or_unknown_user_is_401_invalid_credentials(live_server, shared_user):
    api = shared_user
    anonymous = Api(live_server)
    wrong, unknown = await asyncio.gather(
        anonymous.post("/api/auth/login", json={"username": api.username, "password": "not the password"}),
        anonymous.post("/api/auth/login", json={"username": fresh_username(), "password": PASSWORD}),
    )
    assert_error(wrong, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")
    assert wrong.json() == unknown.json()


@pytest.mark.parametrize("body", [{}, {"username": "someone"}, {"password": PASSWORD}, {"username": 1, "password": 2}])
async def test_login_without_a_username_and_password_is_422(live_server, body):
    api = Api(live_server)
    assert_error(await api.post("/api/auth/login", json=body), 422, "invalid_input")
    await api.close()


async def test_me_answers_the_own_profile_with_id(live_server, shared_user):
    response = await shared_user.get("/api/me")
    assert response.status_code == 200
    assert response.json() == shared_user.user


async def test_patch_me_changes_display_name_and_bio_everywhere(live_server):
    api = await register(live_server)
    response = await api.patch("/api/me", json={"display_name": "  امید  ", "bio": "b" * 280})
    assert response.status_code == 200
    assert response.json()["display_name"] == "امید"
    assert response.json()["bio"] == "b" * 280
    assert (await api.get("/api/me")).json()["display_name"] == "امید"
    public = (await Api(live_server).get(f"/api/users/{api.username}")).json()
    assert public["display_name"] == "امید" and public["bio"] == "b" * 280


async def test_patch_me_with_nothing_to_change_answers_the_profile(live_server, shared_user):
    response = await shared_user.patch("/api/me", json={})
    assert response.status_code == 200
    assert response.json() == shared_user.user


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"display_name": "n" * 65}, "display_name"),
        ({"display_name": ""}, "display_name"),
        ({"display_name": "   "}, "display_name"),
        ({"display_name": None}, "display_name"),
        ({"bio": "b" * 281}, "bio"),
        ({"bio": 5}, "bio"),
    ],
    ids=["name 65", "name empty", "name blank", "name null", "bio 281", "bio number"],
)
async def test_patch_me_refuses_a_display_name_or_bio_outside_the_limits(live_server, shared_user, changes, field):
    assert_error(await shared_user.patch("/api/me", json=changes), 422, "invalid_input", field)
    assert (await shared_user.get("/api/me")).json() == shared_user.user


async def test_logout_answers_204_and_the_token_fails_at_once(live_server):
    api = await register(live_server)
    response = await api.post("/api/auth/logout")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await api.get("/api/me"), 401, "unauthorized")
    assert_error(await api.post("/api/auth/refresh"), 401, "unauthorized")


async def test_logout_leaves_the_other_sessions_of_the_user_working(live_server):
    api = await register(live_server)
    login = await Api(live_server).post("/api/auth/login", json={"username": api.username, "password": PASSWORD})
    other = Api(live_server, login.json()["token"])
    assert (await other.post("/api/auth/logout")).status_code == 204
    assert (await api.get("/api/me")).status_code == 200
    assert_error(await other.get("/api/me"), 401)


async def test_refresh_gives_a_working_token_that_lives_at_least_as_long(live_server, shared_user):
    api = shared_user
    response = await api.post("/api/auth/refresh")
    assert response.status_code == 200
    body = response.json()
    _assert_session_answer(body, api.username)
    fresh = Api(live_server, body["token"])
    assert (await fresh.get("/api/me")).json()["id"] == api.user["id"]
    assert (await api.get("/api/me")).status_code == 200, "the old token keeps working until it expires"
    assert jwt.get_unverified_claims(fresh.token)["exp"] >= jwt.get_unverified_claims(api.token)["exp"]


async def test_password_change_logs_out_the_other_sessions_and_keeps_this_one(live_server):
    api = await register(live_server)
    login = await Api(live_server).post("/api/auth/login", json={"username": api.username, "password": PASSWORD})
    other = Api(live_server, login.json()["token"])
    new_password = "a brand new password"
    response = await api.post("/api/me/password", json={"current_password": PASSWORD, "new_password": new_password})
    assert response.status_code == 200
    _assert_session_answer(response.json(), api.username)
    assert_error(await other.get("/api/me"), 401, "unauthorized")
    assert (await api.get("/api/me")).status_code == 200
    assert (await Api(live_server, response.json()["token"]).get("/api/me")).status_code == 200
    anonymous = Api(live_server)
    old, new = await asyncio.gather(
        anonymous.post("/api/auth/login", json={"username": api.username, "password": PASSWORD}),
        anonymous.post("/api/auth/login", json={"username": api.username, "password": new_password}),
    )
    assert_error(old, 401, "invalid_credentials")
    assert new.status_code == 200


async def test_password_change_with_a_wrong_current_password_is_403_and_changes_nothing(live_server):
    api = await register(live_server)
    response = await api.post(
        "/api/me/password", json={"current_password": "not my password", "new_password": "another password"}
    )
    assert_error(response, 403)
    login = await Api(live_server).post("/api/auth/login", json={"username": api.username, "password": PASSWORD})
    assert login.status_code == 200


@pytest.mark.parametrize("new_password", ["short", "x" * 73, None])
async def test_password_change_refuses_a_new_password_outside_the_rules(live_server, shared_user, new_password):
    response = await shared_user.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": new_password}
    )
    assert_error(response, 422, "invalid_input", "new_password")


async def test_ten_failed_logins_for_a_username_then_429_with_retry_after(live_server, shared_user):
    username = fresh_username("Locked")
    anonymous = Api(live_server)
    wrong = {"username": username, "password": "wrong password!"}
    failures = await asyncio.gather(*(anonymous.post("/api/auth/login", json=wrong) for _ in range(10)))
    assert [r.status_code for r in failures] == [401] * 10
    limited = await anonymous.post("/api/auth/login", json={"username": username.upper(), "password": PASSWORD})
    assert_error(limited, 429, "rate_limited")
    assert 0 < int(limited.headers["retry-after"]) <= 3600
    other = {"username": shared_user.username, "password": PASSWORD}
    assert (await anonymous.post("/api/auth/login", json=other)).status_code == 200, "other usernames are not limited"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer"},
        {"authorization": "Bearer not-a-token"},
        {"authorization": "Bearer a.b.c"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer " + jwt.encode({"sub": "1", "sid": "x", "exp": 4102444800}, "other-key-other-key")},
    ],
    ids=["missing", "empty bearer", "garbage", "three parts", "basic", "other key"],
)
async def test_a_missing_or_foreign_token_is_401_with_the_error_shape(live_server, headers):
    api = Api(live_server)
    for method, path in [("GET", "/api/me"), ("GET", "/api/conversations"), ("POST", "/api/auth/refresh")]:
        response = await api.request(method, path, headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers.get("www-authenticate", "").lower().startswith("bearer")
    await api.close()


async def test_a_token_signed_with_the_server_key_still_needs_a_live_unexpired_session(server_factory):
    server = server_factory(SECRET_KEY=KEY)
    api = await register(server)
    claims = jwt.get_unverified_claims(api.token)
    assert jwt.decode(api.token, KEY, algorithms=["HS256"])["sid"] == claims["sid"], "signed with SECRET_KEY"
    now = int(time.time())
    forged = {
        "expired": jwt.encode({**claims, "exp": now - 10}, KEY),
        "unknown session": jwt.encode({**claims, "sid": "no-such-session"}, KEY),
        "other user": jwt.encode({**claims, "sub": str(claims["sub"] + "0")}, KEY),
        "HS512": jwt.encode(claims, KEY, algorithm="HS512"),
        "no signature": jwt.encode(claims, KEY).rsplit(".", 1)[0] + ".",
        "sub not a number": jwt.encode({**claims, "sub": "abc"}, KEY),
        "no sid": jwt.encode({"sub": claims["sub"], "exp": claims["exp"]}, KEY),
    }
    for name, token in forged.items():
        response = await Api(server, token).get("/api/me")
        assert response.status_code == 401, name
        assert_error(response, 401, "unauthorized")
    assert (await api.get("/api/me")).status_code == 200
