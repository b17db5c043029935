// One device's side of the protocol (docs/e2ee.md §6, §7): its secrets, its sessions with other
// devices, and sealing and opening envelopes with them. Plain data in, plain data out; storage and
// the network are the caller's. Mirrors payambar/e2ee/session.py.
import { DecryptError, b64, compare, concat, equal, unb64 } from './bytes.js';
import * as env from './envelope.js';
import { initiatorSecret, responderSecret } from './handshake.js';
import { mlkemEncapsulate, randomBytes, x25519Public } from './primitives.js';
import { Ratchet, openWith, sealWith } from './ratchet.js';

export const SESSIONS_PER_DEVICE = 5; // older sessions with one device are forgotten
export const REPLAY_WINDOW = 2000;

export function peerKey(userId, deviceId) {
  return `${userId}:${b64(deviceId)}`;
}

export class Session {
  // associated: initiator's identity_dh || responder's identity_dh; prekey: repeated in every entry
  // until the other device answers; ephemeral: how a repeated prekey entry finds its session.
  constructor(ratchet, associated, prekey, ephemeral) {
    this.ratchet = ratchet;
    this.associated = associated;
    this.prekey = prekey;
    this.ephemeral = ephemeral;
  }

  asJson() {
    return {
      ratchet: this.ratchet.asJson(),
      associated: b64(this.associated),
      prekey: this.prekey ? b64(env.prekeyBytes(this.prekey)) : null,
      ephemeral: this.ephemeral ? b64(this.ephemeral) : null,
    };
  }

  static fromJson(data) {
    const prekey = data.prekey ? env.prekeyFromBytes(unb64(data.prekey)) : null;
    const ephemeral = data.ephemeral ? unb64(data.ephemeral) : null;
    return new Session(Ratchet.fromJson(data.ratchet), unb64(data.associated), prekey, ephemeral);
  }
}

// A recipient device: {userId, deviceId, bundle (needed only when no session exists yet),
// oneTime ({id, key}: a claimed one-time prekey, or null)}.
export function recipient(userId, deviceId, bundle = null, oneTime = null) {
  return { userId, deviceId, bundle, oneTime };
}

// The secrets of one device and its sessions. Byte fields are Uint8Array; prekey tables are Maps of
// id -> private key (X25519) or seed (ML-KEM-768).
export class DeviceState {
  constructor(userId, deviceId, deviceSeed, identityDhPrivate, fields = {}) {
    this.userId = userId;
    this.deviceId = deviceId;
    this.deviceSeed = deviceSeed; // Ed25519
    this.identityDhPrivate = identityDhPrivate; // X25519, long-term
    this.signedPrekeys = fields.signedPrekeys ?? new Map();
    this.pqPrekeys = fields.pqPrekeys ?? new Map();
    this.oneTimePrekeys = fields.oneTimePrekeys ?? new Map();
    this.counter = fields.counter ?? 0;
    this.sessions = fields.sessions ?? new Map(); // peerKey -> [Session], active first
    this.seen = fields.seen ?? new Map(); // peerKey -> accepted counters, ascending
  }

  get identityDh() {
    return x25519Public(this.identityDhPrivate);
  }

  hasSession(userId, deviceId) {
    return (this.sessions.get(peerKey(userId, deviceId)) || []).length > 0;
  }

  // The envelope bytes of inner for every recipient device. `fixed` supplies the random values
  // (contentKey, nonce, and per device hex id: {ephemeral, ratchet, kem: {sharedSecret, cipherText}})
  // for test vectors; a caller that keeps the message's content key (docs/e2ee.md §14) passes a
  // fresh random one as `contentKey`.
  async seal(peerUser, recipients, inner, clientId, fixed = {}) {
    const sorted = [...recipients].sort((a, b) => compare(a.deviceId, b.deviceId));
    this.counter += 1;
    const ids = sorted.map((r) => r.deviceId);
    const associated = env.associatedData(this.userId, peerUser, this.deviceId, ids, this.counter, clientId);
    const contentKey = fixed.contentKey || randomBytes(32);
    const nonce = fixed.nonce || randomBytes(env.NONCE_BYTES);
    const entries = [];
    for (const target of sorted) {
      const session = await this.sendingSession(target, fixed[b64(target.deviceId)] || {});
      const { ratchetKey, previous, number, messageKey } = await session.ratchet.nextSendKey();
      const entry = { deviceId: target.deviceId, prekey: session.prekey, ratchetKey, previous, number };
      const aad = concat(associated, session.associated, env.entryHeader(entry));
      entry.wrapped = await sealWith(messageKey, contentKey, aad);
      entries.push(entry);
    }
    const body = await env.sealBody(contentKey, nonce, inner, associated);
    return env.serialize({ senderDevice: this.deviceId, counter: this.counter, entries, nonce, body });
  }

  async sendingSession(target, fixed) {
    const existing = this.sessions.get(peerKey(target.userId, target.deviceId));
    if (existing && existing.length) return existing[0];
    const bundle = target.bundle;
    if (!bundle) throw new DecryptError('no session and no bundle for a recipient device');
    const ephemeralPrivate = fixed.ephemeral || randomBytes(32);
    const kem = fixed.kem || mlkemEncapsulate(bundle.pqPrekey);
    const oneTime = target.oneTime;
    const root = await initiatorSecret(
      this.identityDhPrivate,
      ephemeralPrivate,
      bundle,
      oneTime ? oneTime.key : null,
      kem.sharedSecret,
    );
    const ephemeral = x25519Public(ephemeralPrivate);
    const prekey = {
      ephemeral,
      signedPrekeyId: bundle.signedPrekeyId,
      pqPrekeyId: bundle.pqPrekeyId,
      oneTimePrekeyId: oneTime ? oneTime.id : 0,
      kemCiphertext: kem.cipherText,
    };
    const ratchet = await Ratchet.initiator(root, bundle.signedPrekey, fixed.ratchet || null);
    const session = new Session(ratchet, concat(this.identityDh, bundle.identityDh), prekey, ephemeral);
    this.remember(target.userId, target.deviceId, session);
    return session;
  }

  remember(userId, deviceId, session) {
    const key = peerKey(userId, deviceId);
    const others = (this.sessions.get(key) || []).filter((s) => s !== session);
    this.sessions.set(key, [session, ...others].slice(0, SESSIONS_PER_DEVICE));
  }

  // {inner, senderUser, senderDevice, counter, contentKey} of an envelope sent by senderUser in the chat with
  // peerUser (for the sender's own devices peerUser is the other person). senderIdentityDh is the
  // sending device's long-term X25519 key from its verified bundle; nextPrivate fixes the next
  // ratchet key (test vectors only). DecryptError leaves every state unchanged.
  async open(data, senderUser, peerUser, clientId, senderIdentityDh, nextPrivate = null) {
    let envelope;
    try {
      envelope = env.parse(data);
    } catch (error) {
      throw new DecryptError(error.message);
    }
    const entry = env.entryFor(envelope, this.deviceId);
    if (!entry) throw new DecryptError('the envelope is not for this device');
    const key = peerKey(senderUser, envelope.senderDevice);
    if (this.replayed(key, envelope.counter)) throw new DecryptError('a replayed envelope');
    const associated = env.associatedData(
      senderUser,
      peerUser,
      envelope.senderDevice,
      env.recipients(envelope),
      envelope.counter,
      clientId,
    );
    for (const [session, isNew] of await this.candidates(key, entry, senderIdentityDh)) {
      let ratchet;
      let inner;
      let contentKey;
      try {
        let messageKey;
        [ratchet, messageKey] = await session.ratchet.receiveKey(entry.ratchetKey, entry.previous, entry.number, nextPrivate);
        const aad = concat(associated, session.associated, env.entryHeader(entry));
        contentKey = await openWith(messageKey, entry.wrapped, aad);
        inner = await env.openBody(contentKey, envelope.nonce, envelope.body, associated);
      } catch (error) {
        if (error instanceof DecryptError) continue;
        throw error;
      }
      session.ratchet = ratchet;
      if (!entry.prekey) session.prekey = null; // the other device answered: it has the session
      if (isNew && entry.prekey.oneTimePrekeyId) this.oneTimePrekeys.delete(entry.prekey.oneTimePrekeyId);
      this.remember(senderUser, envelope.senderDevice, session);
      this.accept(key, envelope.counter);
      return { inner, senderUser, senderDevice: envelope.senderDevice, counter: envelope.counter, contentKey };
    }
    throw new DecryptError('no session opens this entry');
  }

  async candidates(key, entry, senderIdentityDh) {
    const known = this.sessions.get(key) || [];
    if (!entry.prekey) return known.map((session) => [session, false]);
    const same = known.filter((s) => equal(s.ephemeral, entry.prekey.ephemeral) && !s.prekey);
    if (same.length) return [[same[0], false]];
    return [[await this.responderSession(entry.prekey, senderIdentityDh), true]];
  }

  async responderSession(prekey, senderIdentityDh) {
    const signed = this.signedPrekeys.get(prekey.signedPrekeyId);
    const pq = this.pqPrekeys.get(prekey.pqPrekeyId);
    const oneTime = prekey.oneTimePrekeyId ? this.oneTimePrekeys.get(prekey.oneTimePrekeyId) : null;
    if (!signed || !pq || (prekey.oneTimePrekeyId && !oneTime)) {
      throw new DecryptError('the prekeys this entry names are gone');
    }
    const own = {
      identityDhPrivate: this.identityDhPrivate,
      signedPrekeyPrivate: signed,
      oneTimePrivate: oneTime,
      pqSeed: pq,
    };
    const root = await responderSecret(own, senderIdentityDh, prekey.ephemeral, prekey.kemCiphertext);
    const associated = concat(senderIdentityDh, this.identityDh);
    return new Session(Ratchet.responder(root, signed), associated, null, prekey.ephemeral);
  }

  replayed(key, counter) {
    const seen = this.seen.get(key) || [];
    return seen.includes(counter) || (seen.length >= REPLAY_WINDOW && counter < seen[0]);
  }

  accept(key, counter) {
    const seen = [...(this.seen.get(key) || []), counter].sort((a, b) => a - b);
    this.seen.set(key, seen.slice(-REPLAY_WINDOW));
  }

  // The same JSON shape as the device part of the Python keystore file.
  asJson() {
    const table = (map) => Object.fromEntries([...map].map(([id, value]) => [String(id), b64(value)]));
    const split = (key) => {
      const at = key.indexOf(':');
      return [Number(key.slice(0, at)), key.slice(at + 1)];
    };
    return {
      user_id: this.userId,
      device_id: b64(this.deviceId),
      device_seed: b64(this.deviceSeed),
      identity_dh_private: b64(this.identityDhPrivate),
      signed_prekeys: table(this.signedPrekeys),
      pq_prekeys: table(this.pqPrekeys),
      one_time_prekeys: table(this.oneTimePrekeys),
      counter: this.counter,
      sessions: [...this.sessions].map(([key, list]) => [...split(key), list.map((s) => s.asJson())]),
      seen: [...this.seen].map(([key, counters]) => [...split(key), counters]),
    };
  }

  static fromJson(data) {
    const table = (object) => new Map(Object.entries(object).map(([id, value]) => [Number(id), unb64(value)]));
    return new DeviceState(data.user_id, unb64(data.device_id), unb64(data.device_seed), unb64(data.identity_dh_private), {
      signedPrekeys: table(data.signed_prekeys),
      pqPrekeys: table(data.pq_prekeys),
      oneTimePrekeys: table(data.one_time_prekeys),
      counter: data.counter,
      sessions: new Map(data.sessions.map(([u, i, list]) => [`${u}:${i}`, list.map(Session.fromJson)])),
      seen: new Map(data.seen.map(([u, i, counters]) => [`${u}:${i}`, counters])),
    });
  }
}
