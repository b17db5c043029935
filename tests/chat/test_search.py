"""Message search over HTTP: Persian and Arabic spellings meet, only your own chats, fresh after edits."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from checks import assert_error, close_all, register_many
from helpers import Api, register


@pytest.fixture(scope="module")
async def pair(live_server):
    sara, omid = await register_many(live_server, 2)
    yield sara, omid
    await close_all(sara, omid)


@pytest.fixture(scope="module")
async def spellers(live_server):
    sara, omid = await register_many(live_server, 2)
    yield sara, omid
    await close_all(sara, omid)


async def search(api: Api, q: str, **params) -> dict:
    response = await api.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"messages", "has_more"}
    return body


async def found_ids(api: Api, q: str, **params) -> list[int]:
    return [message["id"] for message in (await search(api, q, limit=50, **params))["messages"]]


# (what was written, what is typed in the search field): each must find the other.
SPELLINGS = [
    ("علي آمد", "علی"),  # Arabic yeh / Persian yeh
    ("علی آمد", "علي"),
    ("ى را ببين", "ی"),  # alef maksura
    ("كتاب خوبی است", "کتاب"),  # Arabic kaf / Persian kaf
    ("کتاب خوبی است", "كتاب"),
    ("مدرسة قديمة", "مدرسه"),  # teh marbuta / heh
    ("مدرسه قدیمه", "مدرسة"),
    ("أحمد رفت", "احمد"),  # alef with hamza above
    ("احمد رفت", "أحمد"),
    ("إيران", "ایران"),  # alef with hamza below
    ("آب سرد", "اب"),  # alef with madda
    ("اب سرد", "آب"),
    ("می‌خواهم بروم", "میخواهم"),  # zero-width non-joiner
    ("میخواهم بروم", "می‌خواهم"),
    ("کتــــاب", "کتاب"),  # tatweel
    ("کتاب", "کتـاب"),
    ("مُحَمَّد", "محمد"),  # harakat
    ("محمد", "مُحَمَّد"),
    ("قُرْآن", "قران"),
    ("رحمٰن", "رحمن"),  # superscript alef
    ("سال ۱۴۰۳", "1403"),  # Persian digits / Latin
    ("سال 1403", "۱۴۰۳"),
    ("سال ١٤٠٣", "۱۴۰۳"),  # Arabic-Indic digits / Persian
    ("سال ۱۴۰۳", "١٤٠٣"),
    ("Hello World", "hello"),  # Latin case
    ("hello world", "WORLD"),
    ("خداحافظ دوستان", "خداح"),  # the last word is a prefix
    ("ketab khoob ast", "ketab kho"),
    ("كتابخانه ملی", "کتابخ"),  # folded and a prefix at once
    ("دیروز رفتم، امروز آمدم!", "امروز امدم"),  # punctuation is not part of a word
]


@pytest.mark.parametrize("written, typed", SPELLINGS, ids=[f"{w}|{t}" for w, t in SPELLINGS])
async def test_spellings_find_each_other(spellers, written, typed):
    sara, omid = spellers
    message = await sara.send(omid.username, written)
    assert message["id"] in await found_ids(sara, typed, peer=omid.username)
    assert message["id"] in await found_ids(omid, typed)


# (what was written, what is typed): must not match.
NOT_MATCHING = [
    ("کتاب", "کباب"),
    ("salam", "salaam"),
    ("کتاب خوب", "کتاب بد"),  # every word must match
    ("ketab", "etab"),  # a word matches from its start only
    ("خوب", "خوبی"),
    ("سال ۱۴۰۳", "1404"),
]


@pytest.mark.parametrize("written, typed", NOT_MATCHING, ids=[f"{w}|{t}" for w, t in NOT_MATCHING])
async def test_different_words_do_not_match(pair, written, typed):
    sara, omid = pair
    message = await sara.send(omid.username, written)
    assert message["id"] not in await found_ids(sara, typed, peer=omid.username)


def unique_word() -> str:
    return "w" + uuid.uuid4().hex[:12]


async def test_strangers_messages_never_appear(live_server):
    sara, omid, stranger, other = await register_many(live_server, 4)
    word = unique_word()
    ours = await sara.send(omid.username, f"ours {word}")
    theirs = await stranger.send(other.username, f"theirs {word}")
    assert await found_ids(sara, word) == [ours["id"]]
    assert await found_ids(omid, word) == [ours["id"]]
    assert await found_ids(stranger, word) == [theirs["id"]]
    # Naming a stranger as the peer shows only a chat with them, and there is none.
    assert await found_ids(sara, word, peer=stranger.username) == []
    assert await found_ids(stranger, word, peer=sara.username) == []
    await close_all(sara, omid, stranger, other)


async def test_peer_narrows_to_one_chat(live_server):
    sara, omid, leila = await register_many(live_server, 3)
    word = unique_word()
    with_omid = await sara.send(omid.username, word)
    with_leila = await leila.send(sara.username, word)
    to_self = await sara.send(sara.username, word)
    assert await found_ids(sara, word) == [to_self["id"], with_leila["id"], with_omid["id"]]
    assert await found_ids(sara, word, peer=omid.username) == [with_omid["id"]]
    assert await found_ids(sara, word, peer=leila.username) == [with_leila["id"]]
    assert await found_ids(sara, word, peer=sara.username) == [to_self["id"]]
    await close_all(sara, omid, leila)


async def test_results_are_the_message_objects_newest_first_in_pages(pair):
    sara, omid = pair
    word = unique_word()
    sent = [await sara.send(omid.username, f"{word} {n}") for n in range(5)]
    first = await search(sara, word, limit=2)
    assert [m["id"] for m in first["messages"]] == [sent[4]["id"], sent[3]["id"]]
    assert first["has_more"] is True
    assert first["messages"][0] == sent[4] | {"status": first["messages"][0]["status"]}
    second = await search(sara, word, limit=2, before=sent[3]["id"])
    assert [m["id"] for m in second["messages"]] == [sent[2]["id"], sent[1]["id"]]
    assert second["has_more"] is True
    last = await search(sara, word, limit=2, before=sent[1]["id"])
    assert [m["id"] for m in last["messages"]] == [sent[0]["id"]]
    assert last["has_more"] is False


async def test_an_edited_message_is_found_by_its_new_words_only(pair):
    sara, omid = pair
    old, new = unique_word(), unique_word()
    message = await sara.send(omid.username, f"{old} سلام")
    response = await sara.patch(f"/api/messages/{message['id']}", json={"text": f"{new} درود"})
    assert response.status_code == 200
    assert await found_ids(omid, old) == []
    assert await found_ids(omid, new) == [message["id"]]
    assert await found_ids(omid, f"{new} درود") == [message["id"]]


async def test_a_deleted_message_is_not_found(pair):
    sara, omid = pair
    word = unique_word()
    message = await sara.send(omid.username, word)
    assert await found_ids(omid, word) == [message["id"]]
    assert (await sara.delete(f"/api/messages/{message['id']}")).status_code == 200
    assert await found_ids(omid, word) == []
    assert await found_ids(sara, word) == []


async def test_a_query_of_only_punctuation_finds_nothing(pair):
    sara, _ = pair
    assert await search(sara, "?!… ،") == {"messages": [], "has_more": False}


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a" * 257}, "q"),
        ({"q": "abc", "limit": "0"}, "limit"),
        ({"q": "abc", "limit": "51"}, "limit"),
        ({"q": "abc", "limit": "many"}, "limit"),
        ({"q": "abc", "before": "0"}, "before"),
        ({"q": "abc", "before": "x"}, "before"),
    ],
    ids=["no q", "empty q", "blank q", "257 chars", "limit 0", "limit 51", "limit word", "before 0", "before word"],
)
async def test_bad_search_input_is_422(pair, params, field):
    sara, _ = pair
    assert_error(await sara.get("/api/search", params=params), 422, "invalid_input", field)


async def test_an_unknown_peer_is_404(pair):
    sara, _ = pair
    response = await sara.get("/api/search", params={"q": "x", "peer": "nobody_" + uuid.uuid4().hex[:16]})
    assert_error(response, 404, "user_not_found")


async def test_search_needs_a_token(live_server):
    assert_error(await Api(live_server).get("/api/search", params={"q": "x"}), 401, "unauthorized")


async def test_searching_too_fast_is_429_with_retry_after(live_server):
    hasty = await register(live_server)
    answers = await asyncio.gather(*(hasty.get("/api/search", params={"q": "x"}) for _ in range(130)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == 120, statuses
    limited = [answer for answer in answers if answer.status_code == 429]
    assert limited, statuses
    assert_error(limited[0], 429, "rate_limited")
    assert int(limited[0].headers["retry-after"]) >= 1
    await hasty.close()


def test_ascii_text_folds_as_the_full_folding_would():
    import random
    import string
    import unicodedata

    from store.folding import _TABLE, fold

    rnd = random.Random(5)
    samples = ["", "Hello WORLD", "ﬁ", *("".join(rnd.choices(string.printable, k=40)) for _ in range(2000))]
    for text in samples:
        assert fold(text) == unicodedata.normalize("NFKC", text).casefold().translate(_TABLE), text
