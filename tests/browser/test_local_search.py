"""Search over end-to-end encrypted messages runs on the device: its own word index in IndexedDB,
folded as the server folds, kept right through edits and deletes, one per account."""

from local_search_js import SEARCH, SEED

QUERIES = ["ميخواهم", "كتاب", "كتاب بخوانم", "زمستان"]


def search(page, queries, peer=None, rounds=1) -> dict:
    return page.evaluate(SEARCH, {"queries": queries, "rounds": rounds, "peer": peer})


def test_fifty_thousand_opened_messages_are_searched_in_every_spelling(people):
    page, _ = people.register("sara")
    assert page.evaluate(SEED, {"count": 50_000, "chats": ["omid", "leila"]}) == 50
    planted = range(1000, 50_001, 1000)  # the three spellings in turn: ZWNJ, Arabic yeh, a space

    found = search(page, QUERIES, rounds=5)
    # "ميخواهم" (Arabic yeh, no ZWNJ) finds the ZWNJ and the Arabic-yeh spellings, not two words
    assert sorted(found["ميخواهم"]["ids"]) == [id for n, id in enumerate(planted) if n % 3 != 2]
    # "كتاب" (Arabic kaf) finds کتاب and کتابی: the newest 50 planted, newest first
    assert found["كتاب"]["ids"] == sorted(planted, reverse=True)
    assert found["كتاب بخوانم"]["ids"] == sorted(planted, reverse=True)
    assert found["زمستان"]["ids"] == []
    for query, row in found.items():
        times = sorted(row["times"])
        print(f"search {query!r} over 50 000: median {times[len(times) // 2]:.1f} ms, max {times[-1]:.1f} ms")

    one_chat = search(page, ["كتاب"], peer="omid")["كتاب"]
    assert one_chat["chats"] == ["omid"]
    assert one_chat["ids"] == [id for id in sorted(planted, reverse=True) if id % 2 == 0]


def test_an_edit_or_a_delete_takes_its_words_with_it(people):
    page, _ = people.register("sara")
    page.evaluate(
        """async () => {
          const db = await import('/db.js');
          await db.putMessages('omid', [
            { id: 5, sender: 'omid', text: 'قرار فردا ساعت ده', envelope: 'AAAA', e2ee: 'opened' },
            { id: 6, sender: 'omid', text: 'قرار در کتابخانه', envelope: 'AAAA', e2ee: 'opened' },
            { id: 7, sender: 'omid', text: 'قرار بی‌رمز', envelope: null },
          ]);
          const edited = { id: 5, sender: 'omid', text: 'جلسه پس‌فردا', envelope: 'AAAA', e2ee: 'opened' };
          await db.putMessages('omid', [edited]);
          await db.deleteMessage(6);
        }"""
    )
    found = search(page, ["قرار", "جلسه", "کتابخانه"])
    assert found["قرار"]["ids"] == []  # 5 was edited away, 6 deleted, 7 is for the server's index
    assert found["جلسه"]["ids"] == [5]
    assert found["کتابخانه"]["ids"] == []


def test_messages_cached_before_the_index_existed_are_indexed_on_upgrade(people):
    page, _ = people.register("sara")
    found = page.evaluate(
        """async () => {
          await new Promise((resolve, reject) => {
            const request = indexedDB.open('payambar:legacy', 1);
            request.onupgradeneeded = () => {
              const db = request.result;
              db.createObjectStore('kv');
              db.createObjectStore('chats', { keyPath: 'peer.username' });
              const messages = db.createObjectStore('messages', { keyPath: 'id' });
              messages.createIndex('by_chat', ['chat', 'id']);
              db.createObjectStore('outbox', { keyPath: 'client_id' });
              messages.put({ id: 9, chat: 'omid', text: 'یك پیام قدیمی', envelope: 'AAAA', e2ee: 'opened' });
            };
            request.onsuccess = () => { request.result.close(); resolve(); };
            request.onerror = () => reject(request.error);
          });
          const db = await import('/db.js');
          await db.openDb('legacy');
          const { searchSealed } = await import('/localsearch.js');
          return (await searchSealed('يك قديمي')).map((m) => m.id);
        }"""
    )
    assert found == [9]


def test_one_account_never_finds_another_accounts_messages_on_the_same_browser(people):
    page, _ = people.register("sara")
    page.evaluate(SEED, {"count": 2000, "chats": ["omid"]})
    assert search(page, ["كتاب"])["كتاب"]["ids"] == [2000, 1000]
    page.evaluate("async () => (await import('/db.js')).openDb('someone-else')")
    assert search(page, ["كتاب"])["كتاب"]["ids"] == []
