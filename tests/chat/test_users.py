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
        ({"q": "   "}, "q"),
        ({"q": "a" * 65}, "q"),
        ({"q": "abc", "limit": "0"}, "limit"),
        ({"q": "abc", "limit": "51"}, "limit"),
        ({"q": "abc", "limit": "ten"}, "limit"),
    ],
    ids=["no q", "empty q", "blank q", "65 chars", "limit 0", "limit 51", "limit word"],
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


async def rename(api: Api, display_name: str) -> None:
    response = await api.patch("/api/me", json={"display_name": display_name})
    assert response.status_code == 200, response.text


async def found(api: Api, q: str) -> list[str]:
    response = await api.get("/api/users", params={"q": q, "limit": 50})
    assert response.status_code == 200, response.text
    return [user["username"] for user in response.json()["users"]]


async def test_search_finds_display_names_by_word_start_in_any_spelling(live_server):
    tag = uuid.uuid4().hex[:6]  # a made-up surname word, so other tests' users never match
    me, ali, maryam = await asyncio.gather(*(register(live_server) for _ in range(3)))
    await rename(ali, f"علي Ahmadi{tag} كريمي")
    await rename(maryam, f"Maryam مُحَمَّدی{tag}")
    for q in (f"ahmadi{tag}", f"AHMADI{tag}", f"علی ahmadi{tag}", "کریمی", f"ahmadi{tag} کری"):
        assert ali.username in await found(me, q), q
    for q in (f"محمدی{tag}", f"محمدي{tag}", "maryam محمد"):
        assert maryam.username in await found(me, q), q
    assert ali.username not in await found(me, f"hmadi{tag}")  # words match from their start
    assert maryam.username not in await found(me, f"ahmadi{tag}")
    await asyncio.gather(*(api.close() for api in (me, ali, maryam)))


async def test_search_lists_username_matches_before_display_name_matches_once_each(live_server):
    prefix = f"ord{uuid.uuid4().hex[:8]}"
    me, by_username, by_name, both = await asyncio.gather(
        register(live_server),
        register(live_server, f"{prefix}_x"),
        register(live_server),
        register(live_server, f"{prefix}_y"),
    )
    await rename(by_name, f"Aa {prefix}")
    await rename(both, f"{prefix} too")
    assert await found(me, prefix) == [by_username.username, both.username, by_name.username]
    await asyncio.gather(*(api.close() for api in (me, by_username, by_name, both)))


async def test_search_follows_a_display_name_change(live_server):
    me, other = await asyncio.gather(register(live_server), register(live_server))
    old, new = f"old{uuid.uuid4().hex[:8]}", f"new{uuid.uuid4().hex[:8]}"
    await rename(other, old)
    assert await found(me, old) == [other.username]
    await rename(other, new)
    assert await found(me, old) == []
    assert await found(me, new) == [other.username]
    await asyncio.gather(me.close(), other.close())


async def test_search_of_only_punctuation_finds_nobody(people):
    _, (me, *_) = people
    assert await found(me, "%%") == []
