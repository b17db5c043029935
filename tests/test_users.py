"""People over HTTP: search by username prefix, public profiles, the shareable profile page."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from checks import assert_error
from helpers import Api, register

PUBLIC_FIELDS = {"username", "display_name", "bio", "created_at", "avatar"}


@pytest.fixture(scope="module")
async def people(live_server):
    """A searcher and three others whose usernames share a prefix of mixed case."""
    prefix = f"Srch{uuid.uuid4().hex[:8]}"
    names = [f"{prefix}_me", f"{prefix}_Ava", f"{prefix}_bob", f"{prefix.lower()}_CAT"]
    apis = await asyncio.gather(*(register(live_server, name) for name in names))
    yield prefix, apis
    await asyncio.gather(*(api.close() for api in apis))


async def test_search_finds_usernames_by_prefix_ignoring_case_without_yourself(people):
    prefix, (me, *others) = people
    for q in (prefix, prefix.upper(), prefix.lower()):
        response = await me.get("/api/users", params={"q": q})
        assert response.status_code == 200
        found = [user["username"] for user in response.json()["users"]]
        assert sorted(found, key=str.lower) == sorted((o.username for o in others), key=str.lower), q
        assert me.username not in found


async def test_search_answers_public_profiles_only(people):
    prefix, (me, *_) = people
    users = (await me.get("/api/users", params={"q": prefix})).json()["users"]
    assert users and all(set(user) == PUBLIC_FIELDS for user in users)


async def test_search_honours_the_limit(people):
    prefix, (me, *_) = people
    response = await me.get("/api/users", params={"q": prefix, "limit": 2})
    assert response.status_code == 200
    assert len(response.json()["users"]) == 2


async def test_search_with_no_match_is_an_empty_list(people):
    _, (me, *_) = people
    response = await me.get("/api/users", params={"q": "zz_" + uuid.uuid4().hex[:20]})
    assert response.status_code == 200
    assert response.json() == {"users": []}


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "a-b"}, "q"),
        ({"q": "a" * 33}, "q"),
        ({"q": "سلام"}, "q"),
        ({"q": "a%"}, "q"),
        ({"q": "abc", "limit": "0"}, "limit"),
        ({"q": "abc", "limit": "51"}, "limit"),
        ({"q": "abc", "limit": "ten"}, "limit"),
    ],
    ids=["no q", "empty q", "dash", "33 chars", "persian", "percent", "limit 0", "limit 51", "limit word"],
)
async def test_search_refuses_an_invalid_q_or_limit_with_422(people, params, field):
    _, (me, *_) = people
    assert_error(await me.get("/api/users", params=params), 422, "invalid_input", field)


async def test_search_needs_a_token(live_server, people):
    prefix, _ = people
    assert_error(await Api(live_server).get("/api/users", params={"q": prefix}), 401, "unauthorized")


async def test_public_profile_is_served_without_a_token(live_server, people):
    _, (me, *_) = people
    response = await Api(live_server).get(f"/api/users/{me.username}")
    assert response.status_code == 200
    profile = response.json()
    assert set(profile) == PUBLIC_FIELDS
    assert profile == {key: me.user[key] for key in PUBLIC_FIELDS}


@pytest.mark.parametrize("username", ["nobody_" + uuid.uuid4().hex[:20], "ab", "not-valid", "سلام"])
async def test_public_profile_of_an_unknown_user_is_404_user_not_found(live_server, username):
    assert_error(await Api(live_server).get(f"/api/users/{username}"), 404, "user_not_found")


async def test_profile_link_serves_the_app_page(live_server, people):
    _, (me, *_) = people
    response = await Api(live_server).get(f"/u/{me.username}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "content-security-policy" in response.headers
