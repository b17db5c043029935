// IndexedDB: the offline copy of chats and messages, the update cursor, the outbox, and the word
// index of the end-to-end encrypted messages opened here (the server cannot index those).
// One database per account, so two people sharing a browser never see each other's cache.
import { words } from '/folding.js';

const VERSION = 2;
let dbPromise = null;
let dbName = null;

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function upgrade(db, oldVersion, tx) {
  if (oldVersion < 1) {
    db.createObjectStore('kv');
    db.createObjectStore('chats', { keyPath: 'peer.username' });
    const messages = db.createObjectStore('messages', { keyPath: 'id' });
    messages.createIndex('by_chat', ['chat', 'id']);
    db.createObjectStore('outbox', { keyPath: 'client_id' });
  }
  if (oldVersion < 2) {
    // key [folded word, message id], value the chat: a word prefix is one key range
    const index = db.createObjectStore('words');
    tx.objectStore('messages').openCursor().onsuccess = (event) => {
      const cursor = event.target.result;
      if (!cursor) return;
      indexWords(index, cursor.value);
      cursor.continue();
    };
  }
}

// Only opened envelopes: the server's own index finds plaintext messages.
const searchable = (message) =>
  Boolean(message?.envelope && !message.deleted && message.e2ee === 'opened' && message.text);

function indexWords(index, message) {
  if (searchable(message)) for (const word of words(message.text)) index.put(message.chat, [word, message.id]);
}

function unindexWords(index, message) {
  if (searchable(message)) for (const word of words(message.text)) index.delete([word, message.id]);
}

export function openDb(username) {
  dbName = `payambar:${username.toLowerCase()}`;
  dbPromise = new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName, VERSION);
    request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion, request.transaction);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  }).catch(() => null);
  return dbPromise;
}

export async function deleteDb() {
  const db = await dbPromise;
  db?.close();
  dbPromise = null;
  if (dbName) await promisify(indexedDB.deleteDatabase(dbName)).catch(() => {});
}

// `work` gets the store, or the transaction when given several store names.
async function run(storeName, mode, work) {
  const db = await dbPromise;
  if (!db) return undefined;
  try {
    const tx = db.transaction(storeName, mode);
    const result = work(Array.isArray(storeName) ? tx : tx.objectStore(storeName));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    return result instanceof IDBRequest ? result.result : result;
  } catch {
    return undefined;
  }
}

export const kvGet = (key) => run('kv', 'readonly', (store) => store.get(key));
export const kvSet = (key, value) => run('kv', 'readwrite', (store) => store.put(value, key));

// Every stored value whose key starts with `prefix`, as [key, value] pairs.
export async function kvWithPrefix(prefix) {
  const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
  const keys = (await run('kv', 'readonly', (store) => store.getAllKeys(range))) ?? [];
  const values = (await run('kv', 'readonly', (store) => store.getAll(range))) ?? [];
  return keys.map((key, index) => [key, values[index]]);
}

export const getChats = async () => (await run('chats', 'readonly', (store) => store.getAll())) ?? [];
export const putChats = (chats) =>
  run('chats', 'readwrite', (store) => chats.forEach((chat) => store.put(chat)));

// Each message replaces its stored copy, and its words the old copy's words (an edit, a delete).
export function putMessages(chat, messages) {
  return run(['messages', 'words'], 'readwrite', (tx) => {
    const store = tx.objectStore('messages');
    const index = tx.objectStore('words');
    for (const message of messages) {
      if (message.id == null) continue;
      const record = { ...message, chat };
      store.get(message.id).onsuccess = (event) => {
        unindexWords(index, event.target.result);
        store.put(record);
        indexWords(index, record);
      };
    }
  });
}

export const deleteMessage = (id) =>
  run(['messages', 'words'], 'readwrite', (tx) => {
    const store = tx.objectStore('messages');
    store.get(id).onsuccess = (event) => {
      unindexWords(tx.objectStore('words'), event.target.result);
      store.delete(id);
    };
  });

export const getMessage = (id) => run('messages', 'readonly', (store) => store.get(id));

// Up to `count` cached messages (of `chat` when given), below `before` when given, newest first.
export async function newestMessages({ chat = null, before = null, count = 500 } = {}) {
  const db = await dbPromise;
  if (!db) return [];
  const store = db.transaction('messages').objectStore('messages');
  const top = before ?? Infinity;
  const source = chat == null ? store : store.index('by_chat');
  const query =
    chat == null
      ? before == null ? null : IDBKeyRange.upperBound(before, true)
      : IDBKeyRange.bound([chat, -Infinity], [chat, top], false, before != null);
  if (source.getAllRecords) {
    const records = await promisify(source.getAllRecords({ query, count, direction: 'prev' }));
    return records.map((record) => record.value);
  }
  return new Promise((resolve, reject) => {
    const found = [];
    const request = source.openCursor(query, 'prev');
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor || found.length >= count) return resolve(found);
      found.push(cursor.value);
      cursor.continue();
    };
    request.onerror = () => reject(request.error);
  });
}

// How many index keys a word prefix has (all chats).
export async function countWords(prefix) {
  const db = await dbPromise;
  if (!db) return 0;
  const range = IDBKeyRange.bound([prefix], [`${prefix}\uffff`]);
  return promisify(db.transaction('words').objectStore('words').count(range));
}

// Ids of the opened envelopes (of `chat` when given, below `before` when given) holding a word
// that starts with each of `prefixes`, newest first. The longest prefix is read first (the fewest
// keys); once the candidates are few the caller checks the rest on the messages themselves.
export async function idsWithWords(prefixes, { chat = null, before = null, few = 200 } = {}) {
  const db = await dbPromise;
  if (!db || !prefixes.length) return [];
  const read = (prefix) => {
    const store = db.transaction('words').objectStore('words'); // one each: no await inside a transaction
    const range = IDBKeyRange.bound([prefix], [`${prefix}\uffff`]);
    return Promise.all([promisify(store.getAllKeys(range)), promisify(store.getAll(range))]);
  };
  let found = null;
  for (const prefix of [...prefixes].sort((a, b) => b.length - a.length)) {
    if (found && found.size <= few) break;
    const [keys, chats] = await read(prefix);
    const ids = new Set();
    keys.forEach(([, id], at) => {
      if ((chat == null || chats[at] === chat) && (before == null || id < before) && (!found || found.has(id))) ids.add(id);
    });
    found = ids;
  }
  return [...found].sort((a, b) => b - a);
}

export async function getRecentMessages(chat, limit = 50) {
  const db = await dbPromise;
  if (!db) return [];
  return new Promise((resolve) => {
    const found = [];
    const range = IDBKeyRange.bound([chat, -Infinity], [chat, Infinity]);
    const request = db.transaction('messages').objectStore('messages').index('by_chat').openCursor(range, 'prev');
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor || found.length >= limit) return resolve(found.reverse());
      found.push(cursor.value);
      cursor.continue();
    };
    request.onerror = () => resolve([]);
  });
}

export async function outboxAll() {
  const items = (await run('outbox', 'readonly', (store) => store.getAll())) ?? [];
  return items.sort((a, b) => a.queued - b.queued);
}

export const outboxAdd = (item) => run('outbox', 'readwrite', (store) => store.put(item));
export const outboxRemove = (clientId) => run('outbox', 'readwrite', (store) => store.delete(clientId));
