// IndexedDB: the offline copy of chats and messages, the update cursor and the outbox.
// One database per account, so two people sharing a browser never see each other's cache.
const VERSION = 1;
let dbPromise = null;
let dbName = null;

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function upgrade(db) {
  db.createObjectStore('kv');
  db.createObjectStore('chats', { keyPath: 'peer.username' });
  const messages = db.createObjectStore('messages', { keyPath: 'id' });
  messages.createIndex('by_chat', ['chat', 'id']);
  db.createObjectStore('outbox', { keyPath: 'client_id' });
}

export function openDb(username) {
  dbName = `payambar:${username.toLowerCase()}`;
  dbPromise = new Promise((resolve, reject) => {
    const request = indexedDB.open(dbName, VERSION);
    request.onupgradeneeded = () => upgrade(request.result);
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

async function run(storeName, mode, work) {
  const db = await dbPromise;
  if (!db) return undefined;
  try {
    const tx = db.transaction(storeName, mode);
    const result = work(tx.objectStore(storeName));
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

export function putMessages(chat, messages) {
  return run('messages', 'readwrite', (store) =>
    messages.forEach((message) => message.id != null && store.put({ ...message, chat })),
  );
}

// Every cached message, or those of one chat.
export async function allMessages(chat = null) {
  const all = (await run('messages', 'readonly', (store) => store.getAll())) ?? [];
  return chat == null ? all : all.filter((message) => message.chat === chat);
}

export const deleteMessage = (id) => run('messages', 'readwrite', (store) => store.delete(id));

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
