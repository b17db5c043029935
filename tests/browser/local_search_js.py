"""The page-side code that fills a device's word index with opened envelopes and times searches
over it, shared by tests/browser/test_local_search.py and bench/local_search_browser.py."""

# Fills the account's IndexedDB (db.js, already opened by the app or by the caller) with `count`
# opened envelopes spread over `chats`, Persian texts of 10-300 characters, ids 1..count. Every
# 1000th message carries the planted words in one of three spellings; returns how many did.
SEED = """
async ({ count, chats }) => {
  const db = await import('/db.js');
  const vocabulary = ['سلام', 'امروز', 'هوا', 'خوب', 'است', 'ما', 'به', 'پارک', 'رفتیم', 'تا', 'کمی', 'قدم',
    'بزنیم', 'چای', 'بنوشیم', 'فردا', 'کار', 'دارم', 'خانه', 'مادر', 'دوست', 'شهر', 'کوه', 'دریا', 'نامه',
    'ساعت', 'شب', 'صبح', 'زود', 'دیر', 'راه', 'ماشین', 'قطار', 'باران', 'برف', 'گل', 'باغ', 'درس', 'مدرسه'];
  const planted = ['می\\u200cخواهم كتاب بخوانم', 'ميخواهم کتاب بخوانم', 'می خواهم کتابی بخوانم'];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
  let plantedCount = 0;
  let batch = [];
  for (let id = 1; id <= count; id += 1) {
    const length = 10 + (next() % 290);
    let text = '';
    while (text.length < length) text += `${vocabulary[next() % vocabulary.length]} `;
    text = text.slice(0, length).trim();
    if (id % 1000 === 0) {
      text = `${planted[plantedCount % 3]} ${text}`;
      plantedCount += 1;
    }
    const chat = chats[id % chats.length];
    batch.push({ id, sender: chat, recipient: 'me', text, envelope: 'AAAA', e2ee: 'opened', sent_at: id });
    if (batch.length === 1000) {
      for (const each of chats) await db.putMessages(each, batch.filter((m) => m.sender === each));
      batch = [];
    }
  }
  for (const chat of chats) await db.putMessages(chat, batch.filter((m) => m.sender === chat));
  return plantedCount;
}
"""

# Runs each query `rounds` times through localsearch.js, returning per query the ids found (of the
# last round) and the times in ms.
SEARCH = """
async ({ queries, rounds, peer }) => {
  const { searchSealed } = await import('/localsearch.js');
  const result = {};
  for (const query of queries) {
    const times = [];
    let found = [];
    for (let i = 0; i < rounds; i += 1) {
      const t0 = performance.now();
      found = await searchSealed(query, { peer, limit: 50 });
      times.push(performance.now() - t0);
    }
    result[query] = { ids: found.map((m) => m.id), chats: [...new Set(found.map((m) => m.chat))], times };
  }
  return result;
}
"""
