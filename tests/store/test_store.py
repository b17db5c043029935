"""The store on its own: migrations, the group-commit writer, the update stream."""

from __future__ import annotations

import asyncio

import pytest

from store import Forbidden, Store
from store.migrations import MIGRATIONS, migrate, newest_version, schema_version
from store.operations import EditMessage, SendMessage
from store.rows import Status, UpdateKind
from tests.conftest import POSTGRES_SERVER, fresh_postgres_database


@pytest.fixture
def database_url(tmp_path):
    if POSTGRES_SERVER:
        return fresh_postgres_database(POSTGRES_SERVER)
    return f"sqlite:///{tmp_path}/store.db"


@pytest.fixture
async def store(database_url):
    store = Store(database_url)
    notices = []
    await store.open(on_commit=notices.extend)
    store.notices = notices
    yield store
    await store.close()


async def two_users(store):
    sara = await store.create_user("sara", "Sara", "hash")
    omid = await store.create_user("omid", "Omid", "hash")
    return sara.id, omid.id


async def test_a_new_database_is_at_the_newest_schema_version(store):
    assert await schema_version(store.connections.writer) == newest_version()


async def test_opening_again_keeps_the_data_and_the_version(database_url):
    first = Store(database_url)
    await first.open(on_commit=lambda notices: None)
    await first.create_user("sara", "Sara", "hash")
    await first.close()
    again = Store(database_url)
    await again.open(on_commit=lambda notices: None)
    assert (await again.user_by_username("SARA")).username == "sara"
    assert await schema_version(again.connections.writer) == newest_version()
    await again.close()


async def test_a_later_migration_upgrades_in_place_without_losing_rows(store):
    sara, omid = await two_users(store)
    await store.send_message(SendMessage(sara, omid, "kept", "c1", None))
    conn = store.connections.writer
    later = [*MIGRATIONS, (MIGRATIONS[-1][0] + 1, ["ALTER TABLE users ADD COLUMN motto TEXT"])]
    assert await migrate(conn, later) == later[-1][0]
    assert await migrate(conn, later) == later[-1][0]  # running it again changes nothing
    assert await conn.fetch_value("SELECT COUNT(*) FROM messages") == 1
    assert await conn.fetch_value("SELECT motto FROM users WHERE id = ?", (sara,)) is None


async def test_a_step_numbered_below_the_newest_still_runs_on_a_database_that_lacks_it(store):
    # Migration 9 (the device link relay) landed after 10 and 11: a database made between them
    # has 10 and 11 recorded but not 9, and gets 9 at the next start.
    conn = store.connections.writer
    await conn.execute("DROP TABLE key_links")
    await conn.execute("DELETE FROM schema_version WHERE version = 9")
    assert await migrate(conn) == newest_version()
    assert await conn.fetch_value("SELECT COUNT(*) FROM key_links") == 0
    assert await conn.fetch_value("SELECT COUNT(*) FROM schema_version WHERE version = 9") == 1
    assert await migrate(conn) == newest_version()  # and only once


async def test_a_send_is_committed_before_it_is_acknowledged(store, database_url):
    sara, omid = await two_users(store)
    message, is_new = await store.send_message(SendMessage(sara, omid, "durable", "c1", None))
    assert is_new
    observer = Store(database_url)
    await observer.open(on_commit=lambda notices: None)
    async with observer.connections.reader() as conn:
        assert await conn.fetch_value("SELECT text FROM messages WHERE id = ?", (message.id,)) == "durable"
    await observer.close()


async def test_many_sends_share_a_transaction_and_keep_their_order(store):
    sara, omid = await two_users(store)
    batches_before = store.writer.batches
    futures = [store.submit(SendMessage(sara, omid, f"m{n}", f"c{n}", None)) for n in range(300)]
    results = await asyncio.gather(*futures)
    ids = [message.id for message, _ in results]
    assert ids == sorted(ids) and len(set(ids)) == 300
    assert store.writer.batches - batches_before < 10
    updates = await store.updates_after(omid, 0, 1000)
    assert [u.seq for u in updates] == list(range(1, 301))
    assert [u.message.text for u in updates] == [f"m{n}" for n in range(300)]


async def test_a_refused_change_does_not_disturb_its_batch(store):
    sara, omid = await two_users(store)
    theirs, _ = await store.send_message(SendMessage(omid, sara, "omid's", "o1", None))
    futures = [
        store.submit(SendMessage(sara, omid, "before", "s1", None)),
        store.submit(EditMessage(sara, theirs.id, "not mine to edit")),
        store.submit(SendMessage(sara, omid, "after", "s2", None)),
    ]
    before, refused, after = await asyncio.gather(*futures, return_exceptions=True)
    assert isinstance(refused, Forbidden)
    assert before[0].text == "before" and after[0].text == "after"
    page, _ = await store.history(sara, omid, None, 10)
    assert [m.text for m in page] == ["omid's", "before", "after"]


async def test_duplicate_client_id_in_one_batch_stores_one_message(store):
    sara, omid = await two_users(store)
    futures = [store.submit(SendMessage(sara, omid, "same", "dup", None)) for _ in range(5)]
    results = await asyncio.gather(*futures)
    assert len({message.id for message, _ in results}) == 1
    assert [is_new for _, is_new in results].count(True) == 1
    page, _ = await store.history(sara, omid, None, 10)
    assert len(page) == 1


async def test_ids_and_update_sequences_continue_after_reopening(database_url):
    first = Store(database_url)
    await first.open(on_commit=lambda notices: None)
    sara, omid = await two_users(first)
    message, _ = await first.send_message(SendMessage(sara, omid, "one", "c1", None))
    await first.close()
    again = Store(database_url)
    await again.open(on_commit=lambda notices: None)
    second, _ = await again.send_message(SendMessage(sara, omid, "two", "c2", None))
    assert second.id > message.id
    assert [u.seq for u in await again.updates_after(omid, 0)] == [1, 2]
    await again.close()


async def test_notices_are_published_after_commit_with_their_seq(store):
    sara, omid = await two_users(store)
    message, _ = await store.send_message(SendMessage(sara, omid, "hello", "c1", None))
    by_user = {change.user_id: change for change in store.notices}
    assert by_user[omid].update.seq == 1 and by_user[omid].update.message == message
    assert by_user[sara].update.seq == 1


async def test_a_late_delivery_receipt_after_a_read_changes_nothing(store):
    sara, omid = await two_users(store)
    message, _ = await store.send_message(SendMessage(sara, omid, "hello", "c1", None))
    await store.mark_read_up_to(omid, sara, message.id)
    store.notices.clear()
    assert await store.mark_delivered(omid, [message.id]) == []
    assert store.notices == []
    page, _ = await store.history(sara, omid, None, 10)
    assert page[0].status == Status.READ


async def test_delivery_receipts_change_each_message_once(store):
    sara, omid = await two_users(store)
    sent = [await store.send_message(SendMessage(sara, omid, f"m{n}", f"c{n}", None)) for n in range(3)]
    ids = [message.id for message, _ in sent]
    first, second = await asyncio.gather(store.mark_delivered(omid, ids), store.mark_delivered(omid, ids))
    assert sorted(first + second) == ids
    assert await store.mark_delivered(sara, ids) == []  # the sender cannot mark their own as delivered
    statuses = [u.message.status for u in await store.updates_after(sara, 0) if u.kind == UpdateKind.STATUS]
    assert statuses == [Status.DELIVERED] * 3


async def test_messages_stored_before_search_existed_are_indexed_once_on_open(database_url):
    from store.search import build_index

    first = Store(database_url)
    await first.open(on_commit=lambda notices: None)
    sara, omid = await two_users(first)
    old = await first.send_message(SendMessage(sara, omid, "كتاب قديمي", "c1", None))
    conn = first.connections.writer
    await conn.execute("DELETE FROM message_search")  # as a database from before search had it
    await conn.execute("UPDATE search_index_state SET built = 0")
    await first.close()
    again = Store(database_url)
    await again.open(on_commit=lambda notices: None)
    found, has_more = await again.search_messages(omid, None, "کتاب", None, 10)
    assert [message.id for message in found] == [old[0].id] and has_more is False
    assert await build_index(again.connections.writer) == 0  # built once; sends keep it current
    await again.close()


async def test_push_subscriptions_live_and_die_with_their_sessions(store):
    from store.push import MAX_PER_USER, PushSubscriptions
    from store.rows import now_ms

    sara, _ = await two_users(store)
    subscriptions = PushSubscriptions(store)
    await store.create_session("live", sara, now_ms() + 60_000)
    await store.create_session("expired", sara, now_ms() - 1)
    await store.create_session("revoked", sara, now_ms() + 60_000)
    for session in ("live", "expired", "revoked"):
        await subscriptions.add(sara, session, f"https://push.example/{session}", "key", "auth")
    await store.revoke_session(sara, "revoked")  # a logout: its subscription goes with it
    found = {endpoint: live for endpoint, _, _, live in await subscriptions.of_user(sara)}
    assert found == {"https://push.example/live": True, "https://push.example/expired": False}
    for n in range(MAX_PER_USER + 5):
        await subscriptions.add(sara, "live", f"https://push.example/{n}", "key", "auth")
        found = [endpoint for endpoint, *_ in await subscriptions.of_user(sara)]
        assert f"https://push.example/{n}" in found  # the newest always stays
    assert len(found) == MAX_PER_USER
