// A device's keys and sessions (the browser's payambar/client/keystore.py), kept in IndexedDB.
//
// Keystore holds the identity seed, the DeviceState (device key, DH key, prekeys, sessions, replay
// windows), the version of our own list as last signed, and pins: per person the identity key and
// list version this device accepted and every device it has seen listed.
//
// DeviceStore keeps it in the database `payambar-e2ee:<user id>`. Every record is sealed with
// AES-256-GCM under a key WebCrypto made non-extractable and that IndexedDB keeps as a CryptoKey:
// script on the page can use it but never read its bytes, and it never leaves the browser. No
// private key or seed is ever sent anywhere or put in localStorage. `exclusive` runs one change at a
// time across the tabs of this origin (Web Locks), loading the newest state first, so two tabs never
// step one ratchet apart.
import { b64, compare, concat, equal, label, unb64, utf8 } from './bytes.js';
import { signBundle, signDeviceList, signOneTime } from './keys.js';
import { ed25519Public, mlkemPublic, randomBytes, x25519Public } from './primitives.js';
import { DeviceState } from './session.js';

export const ONE_TIME_BATCH = 100;
export const ROTATE_AFTER_MS = 7 * 24 * 3600 * 1000; // a new signed and PQ prekey every 7 days
export const KEEP_OLD_MS = 30 * 24 * 3600 * 1000; // old private halves kept 30 days more

// What this device accepted about a person.
export class Pin {
  constructor(identityKey, version, seenDevices = new Map(), verified = false) {
    this.identityKey = identityKey;
    this.version = version;
    this.seenDevices = seenDevices; // b64(device id) -> its long-term DH key (Uint8Array)
    this.verified = verified;
  }

  asJson() {
    const seen = Object.fromEntries([...this.seenDevices].map(([id, dh]) => [id, b64(dh)]));
    return { identity_key: b64(this.identityKey), version: this.version, seen_devices: seen, verified: this.verified };
  }

  static fromJson(data) {
    const seen = new Map(Object.entries(data.seen_devices).map(([id, dh]) => [id, unb64(dh)]));
    return new Pin(unb64(data.identity_key), data.version, seen, data.verified);
  }
}

export class Keystore {
  constructor(identitySeed, device, fields = {}) {
    this.identitySeed = identitySeed;
    this.device = device;
    this.listVersion = fields.listVersion ?? 0; // of our own device list, as last signed
    this.nextPrekeyId = fields.nextPrekeyId ?? 1;
    this.pins = fields.pins ?? new Map(); // user id -> Pin
    this.prekeyTimes = fields.prekeyTimes ?? new Map(); // signed/PQ prekey id -> made (ms)
  }

  get identityKey() {
    return ed25519Public(this.identitySeed);
  }

  get deviceKey() {
    return ed25519Public(this.device.deviceSeed);
  }

  // Fresh device keys; a fresh identity too unless an approving device handed one over.
  static newDevice(userId, identitySeed = null, now = Date.now()) {
    const device = new DeviceState(userId, randomBytes(8), randomBytes(32), randomBytes(32));
    const store = new Keystore(identitySeed || randomBytes(32), device);
    store.rotatePrekeys(now);
    return store;
  }

  // A new signed X25519 prekey and ML-KEM prekey; the old private halves are kept (30 days).
  rotatePrekeys(now = Date.now()) {
    const id = this.takeIds(1);
    this.device.signedPrekeys.set(id, randomBytes(32));
    this.device.pqPrekeys.set(id, randomBytes(64));
    this.prekeyTimes.set(id, now);
    const ids = [...this.prekeyTimes.keys()].sort((x, y) => x - y);
    for (let i = 0; i < ids.length - 1; i += 1) {
      // a prekey retires when the next one is made, and its private half goes KEEP_OLD_MS later
      if (now - this.prekeyTimes.get(ids[i + 1]) > KEEP_OLD_MS) {
        this.device.signedPrekeys.delete(ids[i]);
        this.device.pqPrekeys.delete(ids[i]);
        this.prekeyTimes.delete(ids[i]);
      }
    }
  }

  // True when the newest prekeys are older than 7 days (then rotate and publish the bundle).
  prekeysDue(now = Date.now()) {
    const newest = Math.max(...this.device.signedPrekeys.keys());
    return now - (this.prekeyTimes.get(newest) ?? 0) > ROTATE_AFTER_MS;
  }

  takeIds(count) {
    const first = this.nextPrekeyId;
    this.nextPrekeyId += count;
    return first;
  }

  // The signed bundle of this device, with the newest prekeys ({deviceId, identityDh, …, signature}).
  bundle() {
    const d = this.device;
    const spkId = Math.max(...d.signedPrekeys.keys());
    const pqId = Math.max(...d.pqPrekeys.keys());
    return signBundle(d.deviceSeed, d.userId, {
      deviceId: d.deviceId,
      identityDh: d.identityDh,
      signedPrekeyId: spkId,
      signedPrekey: x25519Public(d.signedPrekeys.get(spkId)),
      pqPrekeyId: pqId,
      pqPrekey: mlkemPublic(d.pqPrekeys.get(pqId)),
    });
  }

  // A batch of signed one-time prekeys as JSON for the server; their private halves kept here.
  newOneTimePrekeys(count = ONE_TIME_BATCH) {
    const first = this.takeIds(count);
    const d = this.device;
    const signed = [];
    for (let id = first; id < first + count; id += 1) {
      const privateKey = randomBytes(32);
      d.oneTimePrekeys.set(id, privateKey);
      signed.push(signOneTime(d.deviceSeed, d.userId, d.deviceId, id, x25519Public(privateKey)));
    }
    return signed;
  }

  // A list JSON one version above both what this device signed and what is published.
  // devices: [{deviceId, deviceKey}].
  signDeviceList(devices, publishedVersion = 0, now = Date.now()) {
    this.listVersion = Math.max(this.listVersion, publishedVersion) + 1;
    const sorted = [...devices].sort((a, b) => compare(a.deviceId, b.deviceId));
    return signDeviceList(this.identitySeed, this.identityKey, this.device.userId, this.listVersion, now, sorted);
  }

  asJson() {
    return {
      identity_seed: b64(this.identitySeed),
      ...this.device.asJson(),
      list_version: this.listVersion,
      next_prekey_id: this.nextPrekeyId,
      pins: Object.fromEntries([...this.pins].map(([userId, pin]) => [String(userId), pin.asJson()])),
      prekey_times: Object.fromEntries(this.prekeyTimes),
    };
  }

  static fromJson(data) {
    const pins = new Map(Object.entries(data.pins).map(([userId, pin]) => [Number(userId), Pin.fromJson(pin)]));
    const times = new Map(Object.entries(data.prekey_times || {}).map(([id, t]) => [Number(id), t]));
    return new Keystore(unb64(data.identity_seed), DeviceState.fromJson(data), {
      listVersion: data.list_version,
      nextPrekeyId: data.next_prekey_id,
      pins,
      prekeyTimes: times,
    });
  }
}

const STORE_LABEL = label('payambar/device-store/v1');

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Version 2 added `history`: message id -> its content key (docs/e2ee.md §14); version 3 the
// `at` index of `opened`, by which the oldest opened messages are let go.
export const OPENED_KEPT = 10_000;
const OPENED_SLACK = 500; // pruned in batches, not at every message

function openDatabase(name) {
  const request = indexedDB.open(name, 3);
  request.onupgradeneeded = () => {
    for (const store of ['state', 'opened', 'sent', 'history']) {
      if (!request.result.objectStoreNames.contains(store)) request.result.createObjectStore(store);
    }
    const opened = request.transaction.objectStore('opened');
    if (!opened.indexNames.contains('at')) opened.createIndex('at', 'at');
  };
  return promisify(request);
}

// The keystore and what this device has read and sent, in IndexedDB, sealed under a
// non-extractable AES-GCM key of its own.
export class DeviceStore {
  constructor(userId, db, key) {
    this.userId = userId;
    this.db = db;
    this.key = key;
    this.cached = null; // {rev, keystore}
    this.queue = Promise.resolve();
    this.keys = null; // the history map once read: message id -> content key
  }

  static databaseName(userId) {
    return `payambar-e2ee:${userId}`;
  }

  static async open(userId) {
    const db = await openDatabase(DeviceStore.databaseName(userId));
    db.onversionchange = () => db.close(); // another tab deletes the device: let it
    const made = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    const tx = db.transaction('state', 'readwrite');
    const store = tx.objectStore('state');
    const found = store.get('wrap-key');
    // in one transaction: when another tab made the key first, theirs stays
    found.onsuccess = () => {
      if (!found.result) store.put(made, 'wrap-key');
    };
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
    });
    const key = await promisify(db.transaction('state').objectStore('state').get('wrap-key'));
    return new DeviceStore(userId, db, key);
  }

  async seal(name, value) {
    const iv = randomBytes(12);
    const data = utf8(JSON.stringify(value));
    const aad = concat(STORE_LABEL, utf8(name));
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, this.key, data);
    return { iv, sealed: new Uint8Array(sealed) };
  }

  async unseal(name, record) {
    const aad = concat(STORE_LABEL, utf8(name));
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: record.iv, additionalData: aad }, this.key, record.sealed);
    return JSON.parse(new TextDecoder().decode(plain));
  }

  async get(storeName, key) {
    return promisify(this.db.transaction(storeName).objectStore(storeName).get(key));
  }

  // Runs work(objectStore) in one read-write transaction and waits for it to commit.
  async change(storeName, work) {
    const tx = this.db.transaction(storeName, 'readwrite');
    work(tx.objectStore(storeName));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }

  async put(storeName, key, value) {
    await this.change(storeName, (store) => store.put(value, key));
  }

  // The keystore, or null when this browser has no device for the account yet.
  async load() {
    const record = await this.get('state', 'keystore');
    if (!record) return null;
    if (this.cached && this.cached.rev === record.rev) return this.cached.keystore;
    const keystore = Keystore.fromJson(await this.unseal('keystore', record));
    this.cached = { rev: record.rev, keystore };
    return keystore;
  }

  async save(keystore) {
    const record = await this.get('state', 'keystore');
    const rev = (record?.rev ?? 0) + 1;
    await this.put('state', 'keystore', { rev, ...(await this.seal('keystore', keystore.asJson())) });
    this.cached = { rev, keystore };
  }

  // Runs work() alone across this origin's tabs; a failure drops the in-memory copy, so the next
  // call starts from what was last saved.
  async exclusive(work) {
    const run = async () => {
      try {
        return await work();
      } catch (error) {
        this.cached = null;
        throw error;
      }
    };
    if (globalThis.navigator?.locks) return navigator.locks.request(DeviceStore.databaseName(this.userId), run);
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  // Forgets what was read and sent (an identity reset: those sessions are gone). The history map
  // stays: its keys open old messages whatever the identity.
  async clearMessages() {
    for (const name of ['opened', 'sent']) await this.change(name, (store) => store.clear());
  }

  // What an envelope opened to. Entries of messages (their content key is kept in `history`, so
  // they open again without it) and of call signals carry `at` and are let go oldest first.
  async putOpened(key, inner) {
    const record = await this.seal(`opened:${key}`, inner);
    if (/^(\d+|signal):/.test(key)) record.at = Date.now();
    await this.put('opened', key, record);
  }

  // Keeps the newest `keep` of those entries (a person's years of messages would otherwise all
  // stay here opened); answers how many went.
  async pruneOpened(keep = OPENED_KEPT, slack = OPENED_SLACK) {
    const count = await promisify(this.db.transaction('opened').objectStore('opened').index('at').count());
    if (count <= keep + slack) return 0;
    let removed = 0;
    await this.change('opened', (store) => {
      const cursor = store.index('at').openCursor(); // oldest first
      cursor.onsuccess = () => {
        if (!cursor.result || removed >= count - keep) return;
        cursor.result.delete();
        removed += 1;
        cursor.result.continue();
      };
    });
    return removed;
  }

  async getOpened(key) {
    const record = await this.get('opened', key);
    return record ? this.unseal(`opened:${key}`, record) : null;
  }

  // What this device sealed under a client id, and the content key it sealed it with.
  async putSent(clientId, inner, contentKey = null) {
    const value = { inner, key: contentKey ? b64(contentKey) : null };
    await this.put('sent', clientId, await this.seal(`sent:${clientId}`, value));
  }

  // {inner, key (bytes or null)}; records kept before the key was are the inner alone.
  async getSent(clientId) {
    const record = await this.get('sent', clientId);
    if (!record) return null;
    const value = await this.unseal(`sent:${clientId}`, record);
    if (value && typeof value.inner === 'object' && 'key' in value) return { inner: value.inner, key: value.key ? unb64(value.key) : null };
    return { inner: value, key: null };
  }

  // Adds [message id, content key] pairs to the history map; answers how many were new or changed.
  // One message opened looks up its one entry; the whole map is read only where it is all needed
  // (a backup, a link).
  async putKeys(entries) {
    const fresh = [];
    for (const [id, key] of entries) {
      if (Number.isSafeInteger(id) && id > 0 && key?.length === 32 && !equal(await this.getKey(id), key)) fresh.push([id, key]);
    }
    if (!fresh.length) return 0;
    const sealed = await Promise.all(fresh.map(async ([id, key]) => [id, await this.seal(`history:${id}`, b64(key))]));
    await this.change('history', (store) => sealed.forEach(([id, value]) => store.put(value, id)));
    for (const [id, key] of fresh) this.keys?.set(id, key);
    return fresh.length;
  }

  async getKey(messageId) {
    const cached = this.keys?.get(messageId);
    if (cached) return cached;
    const record = await this.get('history', messageId); // another tab may have kept it
    if (!record) return null;
    const key = unb64(await this.unseal(`history:${messageId}`, record));
    this.keys?.set(messageId, key);
    return key;
  }

  // The whole map: read once and kept, and read again when another tab added to it.
  async allKeys() {
    const count = await promisify(this.db.transaction('history').objectStore('history').count());
    if (this.keys && count === this.keys.size) return this.keys;
    const stored = this.db.transaction('history').objectStore('history');
    const [ids, records] = await Promise.all([promisify(stored.getAllKeys()), promisify(stored.getAll())]);
    const keys = new Map();
    await Promise.all(ids.map(async (id, i) => keys.set(id, unb64(await this.unseal(`history:${id}`, records[i])))));
    this.keys = keys;
    return keys;
  }

  // The recovery key this device backs up under: {key (bytes), version (of the backup last
  // read or written), count, at} or null.
  async recovery() {
    const record = await this.get('state', 'recovery');
    if (!record) return null;
    const value = await this.unseal('recovery', record);
    return { ...value, key: unb64(value.key) };
  }

  async setRecovery(value) {
    if (!value) return this.change('state', (store) => store.delete('recovery'));
    await this.put('state', 'recovery', await this.seal('recovery', { ...value, key: b64(value.key) }));
  }

  // Forgets this device on this browser (after it was removed from the list, or on sign-out
  // when the person asks for it).
  async destroy() {
    this.db.close();
    this.cached = null;
    await promisify(indexedDB.deleteDatabase(DeviceStore.databaseName(this.userId)));
  }
}
