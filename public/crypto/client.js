// End-to-end encrypted chats for the PWA: the browser's payambar/client/client.py + directory.py,
// on top of api.js `request()`. No UI here; the UI shows what these calls return or throw.
//
//   const e2ee = await E2eeClient.open(user)        // user: {id, username} of the signed-in person
//   await e2ee.setUpDevice()    // 'loaded' | 'created' (first device: new identity, keys published)
//                               // throws LinkRequired when the person has devices and this is not one;
//                               // setUpDevice({ reset: true }) then starts a new identity (peers are told)
//   const { envelope, newDevices } = await e2ee.seal(peer, textInner('سلام'), clientId)
//   await e2ee.sendText(peer, 'سلام', { replyTo })  // seal + POST /api/messages → the message object
//   await e2ee.editText(message, 'new text')         // seal (kind edit, same client_id) + PATCH
//   await e2ee.forward(peer, text, fromUsername, originalSentAt)
//   const read = await e2ee.open(message)  // {kind, text, inner, encrypted, …} or throws DecryptError
//                                          // (an ApiError with isNetwork when offline: try again later)
//   await e2ee.safetyNumber(peer)          // {number, grouped, qr, verified}
//   e2ee.keysChanged(username)             // on a `keys` frame: forget the cached directory answer
//   e2ee.onNewDevices(({username, devices, firstContact}) => …)   // "new device" in that chat
//   await e2ee.acceptIdentity(peer)        // after IdentityChanged, when the person accepts it
//   await e2ee.removeDevice(deviceIdB64), e2ee.deviceCard(), e2ee.approve(card), e2ee.maintain()
//
// Errors: DecryptError ("could not be decrypted", never text; `cause` holds an IdentityChanged or
// KeysRejected met while opening), IdentityChanged (a peer's identity key
// differs from the pinned one: sending is blocked until acceptIdentity), KeysRejected (a forged or
// rolled-back list or bundle), PeerNotEncrypted (the person has no keys), LinkRequired, ApiError.
import { ApiError, request as apiRequest } from '../api.js';
import { DecryptError, b64, equal, hex, unb64 } from './bytes.js';
import { DeviceStore, Keystore, Pin } from './device.js';
import { BadKeys, listedDeviceKey, parseBundle, parseDeviceList, parseOneTime, bundleJson } from './keys.js';
import * as backup from './backup.js';
import * as env from './envelope.js';
import { randomBytes, sha256 } from './primitives.js';
import { grouped, qrText, safetyNumber } from './safety.js';
import { recipient } from './session.js';

export { DecryptError };
export { BadRecoveryKey } from './backup.js';

export const KEYS_FRESH_MS = 30_000; // a checked directory answer is reused this long to open messages
export const REFILL_BELOW = 20;
export const BACKUP_DELAY_MS = 3_000; // a backup is put this long after the last new content key,
export const BACKUP_EVERY_MS = 60_000; // and at most once a minute (a person has 300 backup calls an hour)
const BACKUP_TRIES = 4;

export class KeysRejected extends Error {
  get name() {
    return 'KeysRejected';
  }
}

export class IdentityChanged extends Error {
  constructor(userId, username, oldKey, newKey) {
    super(`the identity key of ${username || userId} changed`);
    this.userId = userId;
    this.username = username;
    this.oldKey = oldKey;
    this.newKey = newKey;
  }

  get name() {
    return 'IdentityChanged';
  }
}

export class PeerNotEncrypted extends Error {
  get name() {
    return 'PeerNotEncrypted';
  }
}

// The person already has devices and this browser is not one of them: link it from one (§9).
export class LinkRequired extends Error {
  get name() {
    return 'LinkRequired';
  }
}

const enc = encodeURIComponent;

export function textInner(text, { replyTo = null, preview = null, sentAt = Date.now() } = {}) {
  const inner = { v: 1, kind: 'text', text, sent_at: sentAt };
  if (replyTo != null) inner.reply_to = replyTo;
  if (preview) inner.preview = preview;
  return inner;
}

export function editInner(text, { preview = null, sentAt = Date.now() } = {}) {
  const inner = { v: 1, kind: 'edit', text, sent_at: sentAt };
  if (preview) inner.preview = preview;
  return inner;
}

export function forwardInner(text, forwardedFrom, { originalSentAt = null, sentAt = Date.now() } = {}) {
  const inner = { v: 1, kind: 'forward', text, forwarded_from: forwardedFrom, sent_at: sentAt };
  if (originalSentAt != null) inner.original_sent_at = originalSentAt;
  return inner;
}

export function reactionInner(target, emoji, { sentAt = Date.now() } = {}) {
  return { v: 1, kind: 'reaction', target, emoji, sent_at: sentAt };
}

// A call's signal (docs/calls.md, "Signals are envelopes"): `signal` is {sdp}, {candidate} or
// {restart}; `callId` is null in the offer (the server names the call when it takes the offer).
export function signalInner(callId, signal, { sentAt = Date.now() } = {}) {
  return { v: 1, kind: 'call-signal', call_id: callId, signal, sent_at: sentAt };
}

const SIGNAL_CLIENT_ID = /^call-[0-9a-f]{32}$/;

// The backup could not be restored: `reason` 'no_backup' or 'wrong_key'.
export class RecoveryFailed extends Error {
  constructor(reason) {
    super(reason === 'wrong_key' ? 'this recovery key does not open your backup' : 'there is no backup to restore');
    this.reason = reason;
  }

  get name() {
    return 'RecoveryFailed';
  }
}

// Whether the envelope has an entry for this device (false for bytes that are not an envelope).
function addressedTo(data, deviceId) {
  try {
    return env.entryFor(env.parse(data), deviceId) !== null;
  } catch {
    return false;
  }
}

function newClientId() {
  return hex(crypto.getRandomValues(new Uint8Array(16)));
}

// The checked keys of GET /api/users/{username}/keys (directory.verify): every signature, the
// owner, no rollback, the pinned identity. Updates the pin only when all is well.
export function verify(keystore, answer, username = null) {
  let list;
  try {
    list = parseDeviceList(answer?.device_list);
  } catch (error) {
    throw new KeysRejected(`device list: ${error.message}`);
  }
  const userId = list.userId;
  if (answer.user_id !== userId) throw new KeysRejected('the device list names another person');
  if (userId === keystore.device.userId && !equal(list.identityKey, keystore.identityKey)) {
    throw new IdentityChanged(userId, username, keystore.identityKey, list.identityKey);
  }
  let pin = keystore.pins.get(userId);
  if (pin && !equal(pin.identityKey, list.identityKey)) {
    throw new IdentityChanged(userId, username, pin.identityKey, list.identityKey);
  }
  if (pin && list.version < pin.version) {
    throw new KeysRejected(`the device list went back from version ${pin.version} to ${list.version}`);
  }
  const bundles = new Map();
  for (const body of answer.bundles || []) {
    try {
      const deviceKey = listedDeviceKey(list, unb64(body.device_id));
      if (!deviceKey) continue; // a bundle of a device no longer listed is never used
      bundles.set(body.device_id, parseBundle(body, userId, deviceKey));
    } catch (error) {
      throw new KeysRejected(`bundle: ${error.message}`);
    }
  }
  pin = pin || new Pin(list.identityKey, 0);
  const newDevices = [...bundles.keys()].filter((id) => !pin.seenDevices.has(id));
  pin.version = list.version;
  for (const [id, bundle] of bundles) pin.seenDevices.set(id, bundle.identityDh);
  keystore.pins.set(userId, pin);
  return { userId, username, deviceList: list, bundles, newDevices };
}

export class E2eeClient {
  constructor(user, store, { request = apiRequest } = {}) {
    this.user = user;
    this.store = store;
    this.request = request;
    this.directory = new Map(); // lower-case username -> {at, peer}
    this.userIds = new Map([[user.username.toLowerCase(), user.id]]);
    this.newDeviceListeners = new Set();
  }

  // listener({username, userId, devices (base64url ids), firstContact}) whenever a checked list
  // names devices this device has not seen before; the chat shows "new device" unless firstContact.
  onNewDevices(listener) {
    this.newDeviceListeners.add(listener);
    return () => this.newDeviceListeners.delete(listener);
  }

  static async open(user, options = {}) {
    return new E2eeClient(user, await DeviceStore.open(user.id), options);
  }

  // Runs work(keystore) alone across tabs, then saves the keystore. When work fails the keystore
  // is not saved and is read again next time, so the checked keys cached with it go too.
  async withKeys(work, { save = true } = {}) {
    return this.store.exclusive(async () => {
      const keystore = await this.store.load();
      if (!keystore) throw new LinkRequired('this browser has no device keys for the account');
      let result;
      try {
        result = await work(keystore);
      } catch (error) {
        this.directory.clear();
        throw error;
      }
      if (save) await this.store.save(keystore);
      return result;
    });
  }

  async hasDevice() {
    return (await this.store.load()) !== null;
  }

  // Loads this device's keys, or makes them: a new identity whose list holds this device alone
  // when the person has no keys yet. With identitySeed (from an approving device over the link
  // channel) it makes keys for `approve` and publishes nothing until `publishPrekeys`.
  // reset: true starts a new identity although the person has devices elsewhere (§9, "identity
  // reset": their devices stop reading, every peer is shown an identity change).
  async setUpDevice({ identitySeed = null, reset = false } = {}) {
    return this.store.exclusive(async () => {
      let keystore = await this.store.load();
      if (keystore && reset) {
        keystore = null;
        await this.store.clearMessages();
      }
      if (keystore) {
        try {
          await this.maintainWith(keystore);
        } catch (error) {
          if (!(error instanceof ApiError)) throw error; // offline or refused: next time
        }
        await this.store.save(keystore);
        this.store.pruneOpened().catch(() => {}); // the oldest opened messages open again from history
        return 'loaded';
      }
      const published = identitySeed ? null : await this.publishedOwnKeys();
      if (published && !reset) throw new LinkRequired('the person has devices: approve this one from one of them');
      keystore = Keystore.newDevice(this.user.id, identitySeed);
      await this.store.save(keystore);
      globalThis.navigator?.storage?.persist?.().catch(() => {}); // ask the browser not to evict the keys
      if (!identitySeed) {
        await this.publishList(keystore, [this.cardOf(keystore)], Boolean(published));
        await this.publishPrekeysWith(keystore);
        await this.store.save(keystore);
      }
      return 'created';
    });
  }

  async publishedOwnKeys() {
    try {
      return await this.request('GET', `/api/users/${enc(this.user.username)}/keys`);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'no_keys') return null;
      throw error;
    }
  }

  cardOf(keystore) {
    return { deviceId: keystore.device.deviceId, deviceKey: keystore.deviceKey };
  }

  // {deviceId, deviceKey} (bytes): what a new device shows the device that approves it.
  async deviceCard() {
    return this.withKeys(async (keystore) => this.cardOf(keystore), { save: false });
  }

  async publishList(keystore, devices, reset = false) {
    const published = await this.publishedOwnKeys();
    let version = 0;
    if (published && reset) version = parseDeviceList(published.device_list).version; // another identity's
    else if (published) version = verify(keystore, published, this.user.username).deviceList.version;
    const list = keystore.signDeviceList(devices, version);
    await this.store.save(keystore);
    await this.request('PUT', '/api/keys/device-list', { ...list, reset });
    this.directory.clear();
    return list;
  }

  async publishPrekeys() {
    return this.withKeys((keystore) => this.publishPrekeysWith(keystore));
  }

  // This device's bundle, and one-time prekeys topped up.
  async publishPrekeysWith(keystore) {
    const deviceId = b64(keystore.device.deviceId);
    await this.request('PUT', `/api/keys/devices/${deviceId}`, bundleJson(keystore.bundle()));
    await this.topUp(keystore);
  }

  async topUp(keystore) {
    const deviceId = b64(keystore.device.deviceId);
    const status = await this.request('GET', `/api/keys/devices/${deviceId}`);
    if (status.one_time_prekeys < REFILL_BELOW) {
      const batch = keystore.newOneTimePrekeys();
      await this.store.save(keystore);
      await this.request('POST', `/api/keys/devices/${deviceId}/one-time-prekeys`, { prekeys: batch });
    }
  }

  // Rotates the prekeys when due (7 days) and tops one-time prekeys up; call now and then.
  async maintain() {
    return this.withKeys((keystore) => this.maintainWith(keystore));
  }

  async maintainWith(keystore) {
    if (keystore.prekeysDue()) {
      keystore.rotatePrekeys();
      await this.publishPrekeysWith(keystore);
    } else {
      await this.topUp(keystore);
    }
  }

  // Adds a new device of this person to the signed list (after the person compared its code).
  async approve(card) {
    return this.withKeys(async (keystore) => {
      const own = await this.keysOfWith(keystore, this.user.username, true);
      const devices = own.deviceList.devices.filter((d) => !equal(d.deviceId, card.deviceId));
      await this.publishList(keystore, [...devices, card]);
    });
  }

  // A new list without the device (deviceId: base64url or bytes); senders stop sealing to it.
  async removeDevice(deviceId) {
    const id = typeof deviceId === 'string' ? unb64(deviceId) : deviceId;
    return this.withKeys(async (keystore) => {
      const own = await this.keysOfWith(keystore, this.user.username, true);
      await this.publishList(keystore, own.deviceList.devices.filter((d) => !equal(d.deviceId, id)));
    });
  }

  // Accepts a person's new identity key (after IdentityChanged): their old pin and sessions go.
  async acceptIdentity(usernameOrId) {
    const userId = typeof usernameOrId === 'number' ? usernameOrId : this.userIds.get(usernameOrId.toLowerCase());
    await this.withKeys(async (keystore) => {
      keystore.pins.delete(userId);
      for (const key of [...keystore.device.sessions.keys()]) {
        if (key.startsWith(`${userId}:`)) keystore.device.sessions.delete(key);
      }
    });
    this.directory.clear();
  }

  // A `keys` frame or update said this person's device list changed.
  keysChanged(username) {
    if (username) this.directory.delete(username.toLowerCase());
    else this.directory.clear();
  }

  async safetyNumber(username) {
    return this.withKeys(async (keystore) => {
      const peer = await this.keysOfWith(keystore, username);
      const pin = keystore.pins.get(peer.userId);
      const number = await safetyNumber(this.user.id, keystore.identityKey, peer.userId, pin.identityKey);
      return { number, grouped: grouped(number), qr: qrText(number), verified: pin.verified };
    });
  }

  // Marks the chat verified on this device (the person compared or scanned the number).
  async markVerified(username, verified = true) {
    return this.withKeys(async (keystore) => {
      const peer = await this.keysOfWith(keystore, username);
      keystore.pins.get(peer.userId).verified = verified;
    });
  }

  // A person's checked keys: {userId, deviceList, bundles (b64 id -> bundle), newDevices}.
  async keysOf(username, { fresh = false } = {}) {
    return this.withKeys((keystore) => this.keysOfWith(keystore, username, fresh));
  }

  async keysOfWith(keystore, username, fresh = false) {
    const name = username.toLowerCase();
    const cached = this.directory.get(name);
    const usable = cached && keystore.pins.has(cached.peer.userId);
    if (usable && !fresh && Date.now() - cached.at < KEYS_FRESH_MS) return cached.peer;
    let answer;
    try {
      answer = await this.request('GET', `/api/users/${enc(username)}/keys`);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'no_keys') {
        throw new PeerNotEncrypted(`${username} has no end-to-end encryption keys`);
      }
      throw error;
    }
    const known = keystore.pins.has(answer?.user_id);
    const peer = verify(keystore, answer, username);
    this.directory.set(name, { at: Date.now(), peer });
    this.userIds.set(name, peer.userId);
    if (peer.newDevices.length) {
      const event = { username, userId: peer.userId, devices: peer.newDevices, firstContact: !known };
      for (const listener of this.newDeviceListeners) listener(event);
    }
    return peer;
  }

  async recipientsFor(keystore, username, peer) {
    const isSelf = username.toLowerCase() === this.user.username.toLowerCase();
    const own = isSelf ? peer : await this.keysOfWith(keystore, this.user.username, true);
    const targets = isSelf ? [[username, peer]] : [[username, peer], [this.user.username, own]];
    const recipients = [];
    for (const [name, person] of targets) recipients.push(...(await this.devicesOf(keystore, name, person)));
    return recipients;
  }

  // The recipients for every listed device of a person with a bundle (claiming a prekey bundle for
  // those without a session), this device left out; `only` (base64url ids) narrows them.
  async devicesOf(keystore, name, person, only = null) {
    const recipients = [];
    for (const [id] of person.bundles) {
      const deviceId = unb64(id);
      if (equal(deviceId, keystore.device.deviceId)) continue;
      if (only && !only.includes(id)) continue;
      if (keystore.device.hasSession(person.userId, deviceId)) {
        recipients.push(recipient(person.userId, deviceId));
        continue;
      }
      const claimed = await this.request('POST', `/api/users/${enc(name)}/keys/${id}/claim`);
      const deviceKey = listedDeviceKey(person.deviceList, deviceId);
      let bundle;
      let oneTime = null;
      try {
        bundle = parseBundle(claimed.bundle, person.userId, deviceKey);
        if (!equal(bundle.deviceId, deviceId)) throw new BadKeys('the claimed bundle is another device');
        if (claimed.one_time_prekey) oneTime = parseOneTime(claimed.one_time_prekey, person.userId, deviceId, deviceKey);
      } catch (error) {
        throw new KeysRejected(`claimed keys: ${error.message}`);
      }
      recipients.push(recipient(person.userId, deviceId, bundle, oneTime));
    }
    return recipients;
  }

  // A call signal sealed for the person's devices (`only`: base64url ids; null: every device of
  // theirs), for none of ours, and not kept as a sent message: {v, client_id, envelope} as text,
  // which is all the call frames carry. `fresh` fetches the person's keys anew (a call's first signal).
  async sealSignal(username, inner, { only = null, fresh = false } = {}) {
    return this.withKeys(async (keystore) => {
      const peer = await this.keysOfWith(keystore, username, fresh);
      if (peer.userId === this.user.id) throw new KeysRejected('a call is between two people');
      const recipients = await this.devicesOf(keystore, username, peer, only);
      if (!recipients.length) throw new KeysRejected(`${username} has no device to seal the call for`);
      const clientId = `call-${newClientId()}`;
      const data = await keystore.device.seal(peer.userId, recipients, inner, clientId);
      return JSON.stringify({ v: 1, client_id: clientId, envelope: b64(data) });
    });
  }

  // The signal text of a call frame sent by `username`, opened: {inner, device (the sending device's
  // base64url id)}. Anything that is not an envelope for this device throws DecryptError; a signal
  // opened before (another tab, a reload, the same frame read again) comes from the opened store.
  async openSignal(username, text) {
    let wrapper = null;
    let data = null;
    try {
      wrapper = JSON.parse(text);
      if (wrapper?.v === 1 && SIGNAL_CLIENT_ID.test(wrapper.client_id) && typeof wrapper.envelope === 'string') data = unb64(wrapper.envelope);
    } catch {
      data = null;
    }
    if (!data || data.length < 9) throw new DecryptError('the signal is not an envelope');
    const cacheKey = `signal:${hex((await sha256(data)).slice(0, 12))}`;
    const known = await this.store.getOpened(cacheKey);
    if (known) return known;
    return this.withKeys(async (keystore) => {
      const again = await this.store.getOpened(cacheKey);
      if (again) return again;
      const senderDevice = data.slice(1, 9);
      let sender = await this.keysOfWith(keystore, username);
      if (sender.userId === this.user.id) throw new DecryptError('a call signal from oneself');
      let senderDh = keystore.pins.get(sender.userId).seenDevices.get(b64(senderDevice));
      if (!senderDh) {
        sender = await this.keysOfWith(keystore, username, true);
        senderDh = keystore.pins.get(sender.userId).seenDevices.get(b64(senderDevice));
      }
      let opened;
      try {
        if (!senderDh) throw new DecryptError('sent by a device never listed by its person');
        opened = await keystore.device.open(data, sender.userId, this.user.id, wrapper.client_id, senderDh);
        if (opened.inner.kind !== 'call-signal' || typeof opened.inner.signal !== 'object' || !opened.inner.signal) {
          throw new DecryptError('the envelope is not a call signal');
        }
      } catch (error) {
        if (error instanceof DecryptError) await this.store.save(keystore);
        throw error;
      }
      const result = { inner: opened.inner, device: b64(senderDevice) };
      await this.store.putOpened(cacheKey, result);
      return result;
    });
  }

  // {envelope (base64url), clientId, newDevices} of inner for every device of the person and every
  // other device of ours. Fetches the keys anew: IdentityChanged / KeysRejected stop it.
  async seal(username, inner, clientId = newClientId()) {
    return this.withKeys(async (keystore) => {
      const peer = await this.keysOfWith(keystore, username, true);
      const recipients = await this.recipientsFor(keystore, username, peer);
      // A note to yourself with no other device is sealed for nobody: only this device's copy opens it.
      if (!recipients.length && peer.userId !== this.user.id) throw new KeysRejected(`${username} has no device with a published bundle`);
      const contentKey = randomBytes(32);
      const data = await keystore.device.seal(peer.userId, recipients, inner, clientId, { contentKey });
      await this.store.putSent(clientId, inner, contentKey);
      return { envelope: b64(data), clientId, newDevices: peer.newDevices };
    });
  }

  async send(username, inner, clientId = newClientId()) {
    const { envelope } = await this.seal(username, inner, clientId);
    return this.request('POST', '/api/messages', { to: username, client_id: clientId, envelope });
  }

  async sendText(username, text, options = {}) {
    return this.send(username, textInner(text, options));
  }

  async forward(username, text, forwardedFrom, originalSentAt = null) {
    return this.send(username, forwardInner(text, forwardedFrom, { originalSentAt }));
  }

  // A new envelope for one of our messages (kind edit, the message's own client_id).
  async sealEdit(message, text, options = {}) {
    return this.seal(message.recipient, editInner(text, options), message.client_id);
  }

  async editText(message, text, options = {}) {
    const { envelope } = await this.sealEdit(message, text, options);
    return this.request('PATCH', `/api/messages/${message.id}`, { envelope });
  }

  // A message object as this device reads it: {kind, text, inner, encrypted, id, sender,
  // recipient, clientId}. An envelope that does not open throws DecryptError (its `cause` says why).
  async open(message) {
    const base = {
      id: message.id,
      sender: message.sender,
      recipient: message.recipient,
      clientId: message.client_id,
    };
    if (!message.envelope) {
      const inner = message.deleted ? null : { v: 1, kind: 'text', text: message.text };
      return { ...base, encrypted: false, inner, kind: inner?.kind ?? null, text: inner?.text ?? null };
    }
    let inner;
    try {
      inner = await this.openEnvelope(message, unb64(message.envelope));
    } catch (error) {
      if (error instanceof DecryptError || (error instanceof ApiError && error.isNetwork)) throw error;
      throw new DecryptError(`could not be decrypted: ${error.message}`, { cause: error });
    }
    const text = typeof inner.text === 'string' ? inner.text : null;
    return { ...base, encrypted: true, inner, kind: inner.kind, text };
  }

  async openEnvelope(message, data) {
    const cacheKey = `${message.id}:${hex((await sha256(data)).slice(0, 12))}`;
    const known = await this.store.getOpened(cacheKey);
    if (known) return known;
    return this.withKeys(async (keystore) => {
      const again = await this.store.getOpened(cacheKey); // another tab may have opened it meanwhile
      if (again) return again;
      // A content key from history (§14) opens an envelope this device has no entry in; one with
      // an entry goes through the ratchet first, the kept key only when that fails.
      const kept = await this.store.getKey(message.id);
      const keyFirst = kept && !addressedTo(data, keystore.device.deviceId);
      let opened = keyFirst ? await this.openWithKey(keystore, message, data, kept) : null;
      if (!opened) {
        try {
          opened = await this.openWithRatchet(keystore, message, data);
        } catch (error) {
          if (!kept || keyFirst || (error instanceof ApiError && error.isNetwork)) throw error; // the key was tried
          opened = await this.openWithKey(keystore, message, data, kept);
          if (!opened) throw error;
        }
      }
      if (opened.contentKey && (await this.store.putKeys([[message.id, opened.contentKey]]))) this.historyChanged();
      await this.store.putOpened(cacheKey, opened.inner);
      return opened.inner;
    });
  }

  async openWithRatchet(keystore, message, data) {
    let senderKeys = await this.keysOfWith(keystore, message.sender);
    const recipientId = await this.userIdWith(keystore, message.recipient);
    const senderDevice = data.slice(1, 9);
    if (senderKeys.userId === this.user.id && equal(senderDevice, keystore.device.deviceId)) {
      const sent = await this.store.getSent(message.client_id);
      if (!sent) throw new DecryptError('sent from this device, but not kept here');
      return { inner: sent.inner, contentKey: sent.key };
    }
    let senderDh = keystore.pins.get(senderKeys.userId).seenDevices.get(b64(senderDevice));
    if (!senderDh) {
      // a device listed since we last looked?
      senderKeys = await this.keysOfWith(keystore, message.sender, true);
      senderDh = keystore.pins.get(senderKeys.userId).seenDevices.get(b64(senderDevice));
    }
    try {
      if (!senderDh) throw new DecryptError('sent by a device never listed by its person');
      return await keystore.device.open(data, senderKeys.userId, recipientId, message.client_id, senderDh);
    } catch (error) {
      // the sessions are as they were; the keys checked on the way are kept
      if (error instanceof DecryptError) await this.store.save(keystore);
      throw error;
    }
  }

  // The body opened with a content key from this person's history, or null when it does not open
  // (an edit's newer envelope, a key of another message). The key came from one of the person's
  // own devices, which checked the sender when it first opened the message; the tag binds the
  // sender, its device, the recipients and the client id as before.
  async openWithKey(keystore, message, data, contentKey) {
    let envelope;
    try {
      envelope = env.parse(data);
    } catch {
      return null;
    }
    const senderUser = await this.userIdWith(keystore, message.sender);
    const peerUser = await this.userIdWith(keystore, message.recipient);
    const associated = env.associatedData(senderUser, peerUser, envelope.senderDevice, env.recipients(envelope), envelope.counter, message.client_id);
    try {
      return { inner: await env.openBody(contentKey, envelope.nonce, envelope.body, associated), contentKey };
    } catch (error) {
      if (error instanceof DecryptError) return null;
      throw error;
    }
  }

  // ---- history: the recovery key and the key backup (docs/e2ee.md §14) ----------------------

  // A new content key was kept: the backup follows a few seconds later (one put for a burst).
  historyChanged() {
    clearTimeout(this.backupTimer);
    const due = Math.max(BACKUP_DELAY_MS, (this.lastBackup ?? -Infinity) + BACKUP_EVERY_MS - Date.now());
    this.backupTimer = setTimeout(() => {
      this.lastBackup = Date.now();
      this.backUp().catch(() => {}); // offline or refused: the next new key tries again
    }, due);
  }

  // {enabled, count, at, replaced}: whether this device backs up, what the last backup held and
  // when; `replaced` when another device put a backup under another recovery key since.
  async recoveryStatus() {
    const recovery = await this.store.recovery();
    if (!recovery) return { enabled: false, count: 0, at: null, replaced: false };
    return { enabled: true, count: recovery.count ?? 0, at: recovery.at ?? null, replaced: Boolean(recovery.replaced) };
  }

  async storedBackup() {
    try {
      return await this.request('GET', '/api/keys/backup');
    } catch (error) {
      if (error instanceof ApiError && error.code === 'backup_not_found') return null;
      throw error;
    }
  }

  // Makes a recovery key, backs this device's history up under it and answers its written form,
  // shown once. A backup under an older key is replaced (that key stops opening anything).
  async setUpRecovery() {
    const key = backup.newRecoveryKey();
    await this.store.setRecovery({ key, version: null, count: 0, at: null });
    await this.backUp();
    return backup.formatRecoveryKey(key);
  }

  // Stops backing up on this device; with `remove` the stored backup goes too.
  async turnOffRecovery({ remove = false } = {}) {
    await this.store.setRecovery(null);
    if (remove) {
      try {
        await this.request('DELETE', '/api/keys/backup');
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'backup_not_found')) throw error;
      }
    }
  }

  // Reads the backup, merges this device's map into it and puts it back (again on 409 when
  // another device wrote meanwhile). Answers the entries it holds, or null with no recovery key.
  async backUp() {
    const recovery = await this.store.recovery();
    if (!recovery) return null;
    for (let attempt = 0; attempt < BACKUP_TRIES; attempt += 1) {
      const stored = await this.storedBackup();
      const merged = new Map();
      if (stored) {
        try {
          for (const [id, key] of await backup.openBackup(recovery.key, this.user.id, unb64(stored.sealed))) merged.set(id, key);
        } catch (error) {
          if (!(error instanceof DecryptError)) throw error;
          // Another recovery key's backup: only a key just made here (nothing put under it yet) replaces it.
          if (recovery.version !== null) {
            await this.store.setRecovery({ ...recovery, replaced: true });
            return null;
          }
        }
      }
      for (const [id, key] of await this.store.allKeys()) merged.set(id, key);
      const kept = backup.newest(merged, backup.BACKUP_ENTRIES);
      const sealed = await backup.sealBackup(recovery.key, this.user.id, kept);
      try {
        const { version } = await this.request('PUT', '/api/keys/backup', { replaces: stored?.version ?? 0, sealed: b64(sealed) });
        await this.store.setRecovery({ key: recovery.key, version, count: kept.size, at: Date.now(), replaced: false });
        return kept.size;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 'stale_version')) throw error;
      }
    }
    throw new Error('the backup kept changing; it is tried again after the next message');
  }

  // Restores history from the backup with the key the person typed: BadRecoveryKey for a typo
  // (nothing fetched), RecoveryFailed 'no_backup' or 'wrong_key' (nothing kept). Answers how many
  // messages it holds; this device then keeps backing up under that key.
  async restore(written) {
    const key = await backup.parseRecoveryKey(written);
    const stored = await this.storedBackup();
    if (!stored) throw new RecoveryFailed('no_backup');
    let history;
    try {
      history = await backup.openBackup(key, this.user.id, unb64(stored.sealed));
    } catch (error) {
      if (error instanceof DecryptError) throw new RecoveryFailed('wrong_key');
      throw error;
    }
    await this.store.putKeys([...history]);
    await this.store.setRecovery({ key, version: stored.version, count: history.size, at: Date.now(), replaced: false });
    this.historyChanged(); // what this device holds and the backup does not
    return history.size;
  }

  // The newest entries of this device's map, for a device being linked (§9, §14).
  async linkHistory() {
    return backup.newest(await this.store.allKeys(), backup.LINK_HISTORY_ENTRIES);
  }

  async userIdWith(keystore, username) {
    const known = this.userIds.get(username.toLowerCase());
    return known ?? (await this.keysOfWith(keystore, username)).userId;
  }

  // The messages of a chat as this device reads them; each {…, error} when it could not be opened.
  async history(username, { limit = 100 } = {}) {
    const page = await this.request('GET', `/api/conversations/${enc(username)}/messages?limit=${limit}`);
    const read = [];
    for (const message of page.messages) {
      try {
        read.push(await this.open(message));
      } catch (error) {
        if (!(error instanceof DecryptError)) throw error;
        read.push({ id: message.id, sender: message.sender, encrypted: true, inner: null, kind: null, text: null, error });
      }
    }
    return read;
  }
}
