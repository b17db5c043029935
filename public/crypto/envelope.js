// The envelope (docs/e2ee.md §7): its byte layout, its associated data, and the body sealed once
// under a fresh key. Mirrors payambar/e2ee/envelope.py. Parsing checks the layout only (the server
// does that much); opening needs a device's ratchet.
import { DecryptError, compare, concat, equal, label, readU32, readU64, u16, u32, u64, u8, utf8 } from './bytes.js';
import { DEVICE_ID_BYTES } from './keys.js';
import { MLKEM_CIPHERTEXT_BYTES, aesGcmOpen, aesGcmSeal } from './primitives.js';

export const VERSION = 1;
const ENVELOPE_LABEL = label('payambar/envelope/v1');
export const MAX_RECIPIENTS = 32;
export const RATCHET_ENTRY = 0;
export const PREKEY_ENTRY = 1;
export const WRAPPED_BYTES = 48; // a 32-byte content key and its 16-byte tag
export const PAD_BLOCK = 32;
export const NONCE_BYTES = 12;

// Bytes that are not an envelope of this version.
export class BadEnvelope extends Error {
  get name() {
    return 'BadEnvelope';
  }
}

// prekey: {ephemeral, signedPrekeyId, pqPrekeyId, oneTimePrekeyId (0: none), kemCiphertext}
export function prekeyBytes(prekey) {
  return concat(
    prekey.ephemeral,
    u32(prekey.signedPrekeyId),
    u32(prekey.pqPrekeyId),
    u32(prekey.oneTimePrekeyId),
    prekey.kemCiphertext,
  );
}

export function prekeyFromBytes(raw) {
  return {
    ephemeral: raw.slice(0, 32),
    signedPrekeyId: readU32(raw, 32),
    pqPrekeyId: readU32(raw, 36),
    oneTimePrekeyId: readU32(raw, 40),
    kemCiphertext: raw.slice(44),
  };
}

// entry: {deviceId, prekey (or null), ratchetKey, previous (PN), number (N), wrapped}
// The entry's bytes before the wrapped key: all of it is authenticated with the wrap.
export function entryHeader(entry) {
  return concat(
    entry.deviceId,
    u8(entry.prekey ? PREKEY_ENTRY : RATCHET_ENTRY),
    entry.prekey ? prekeyBytes(entry.prekey) : new Uint8Array(0),
    entry.ratchetKey,
    u32(entry.previous),
    u32(entry.number),
  );
}

export function entryBytes(entry) {
  return concat(entryHeader(entry), entry.wrapped);
}

// envelope: {senderDevice, counter, entries (sorted by device id), nonce, body}
export function serialize(envelope) {
  return concat(
    u8(VERSION),
    envelope.senderDevice,
    u64(envelope.counter),
    u8(envelope.entries.length),
    ...envelope.entries.map(entryBytes),
    envelope.nonce,
    envelope.body,
  );
}

export function recipients(envelope) {
  return envelope.entries.map((entry) => entry.deviceId);
}

export function entryFor(envelope, deviceId) {
  return envelope.entries.find((entry) => equal(entry.deviceId, deviceId)) || null;
}

class Reader {
  constructor(data) {
    this.data = data;
    this.at = 0;
  }

  take(length) {
    if (this.at + length > this.data.length) throw new BadEnvelope('the envelope ends early');
    const chunk = this.data.slice(this.at, this.at + length);
    this.at += length;
    return chunk;
  }

  u32() {
    return readU32(this.take(4), 0);
  }

  rest() {
    return this.data.slice(this.at);
  }
}

function readEntry(reader) {
  const deviceId = reader.take(DEVICE_ID_BYTES);
  const kind = reader.take(1)[0];
  let prekey = null;
  if (kind === PREKEY_ENTRY) {
    const ephemeral = reader.take(32);
    const [signedPrekeyId, pqPrekeyId, oneTimePrekeyId] = [reader.u32(), reader.u32(), reader.u32()];
    prekey = { ephemeral, signedPrekeyId, pqPrekeyId, oneTimePrekeyId, kemCiphertext: reader.take(MLKEM_CIPHERTEXT_BYTES) };
  } else if (kind !== RATCHET_ENTRY) {
    throw new BadEnvelope('unknown entry kind');
  }
  const ratchetKey = reader.take(32);
  const previous = reader.u32();
  const number = reader.u32();
  return { deviceId, prekey, ratchetKey, previous, number, wrapped: reader.take(WRAPPED_BYTES) };
}

// The envelope in data, or BadEnvelope when the layout is not this version's.
export function parse(data) {
  const reader = new Reader(data);
  if (reader.take(1)[0] !== VERSION) throw new BadEnvelope('unknown envelope version');
  const senderDevice = reader.take(DEVICE_ID_BYTES);
  const counter = readU64(reader.take(8), 0);
  if (counter > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadEnvelope('the counter is out of range');
  const count = reader.take(1)[0];
  // 0: a note to yourself while you have no other device (docs/e2ee.md §7.1)
  if (count > MAX_RECIPIENTS) throw new BadEnvelope(`an envelope has 0 to ${MAX_RECIPIENTS} recipients`);
  const entries = [];
  for (let i = 0; i < count; i += 1) entries.push(readEntry(reader));
  for (let i = 0; i < entries.length; i += 1) {
    const sorted = i === 0 || compare(entries[i - 1].deviceId, entries[i].deviceId) < 0;
    if (!sorted || equal(entries[i].deviceId, senderDevice)) {
      throw new BadEnvelope('recipients are sorted by device id, each once, the sender not among them');
    }
  }
  const nonce = reader.take(NONCE_BYTES);
  const body = reader.rest();
  if (body.length < 16 + PAD_BLOCK) throw new BadEnvelope('the body is too short');
  return { senderDevice, counter: Number(counter), entries, nonce, body };
}

// What every AEAD of the envelope binds: version, conversation, sender, recipients, counter, client_id.
export function associatedData(senderUser, peerUser, senderDevice, recipientIds, counter, clientId) {
  const [low, high] = [senderUser, peerUser].sort((a, b) => a - b);
  const client = utf8(clientId);
  const sorted = [...recipientIds].sort(compare);
  return concat(
    ENVELOPE_LABEL,
    u8(VERSION),
    u64(low),
    u64(high),
    u64(senderUser),
    senderDevice,
    u8(sorted.length),
    ...sorted,
    u64(counter),
    u16(client.length),
    client,
  );
}

// ISO/IEC 7816-4 padding to a multiple of 32 bytes: 0x80 then zeros.
export function pad(plaintext) {
  const length = Math.ceil((plaintext.length + 1) / PAD_BLOCK) * PAD_BLOCK;
  const out = new Uint8Array(length);
  out.set(plaintext);
  out[plaintext.length] = 0x80;
  return out;
}

export function unpad(padded) {
  let end = padded.length;
  while (end > 0 && padded[end - 1] === 0) end -= 1;
  if (end === 0 || padded[end - 1] !== 0x80 || padded.length % PAD_BLOCK) throw new DecryptError('bad padding');
  return padded.slice(0, end - 1);
}

export function innerBytes(inner) {
  return utf8(JSON.stringify(inner));
}

export async function sealBody(contentKey, nonce, inner, associated) {
  return aesGcmSeal(contentKey, nonce, pad(innerBytes(inner)), associated);
}

export async function openBody(contentKey, nonce, body, associated) {
  const plain = unpad(await aesGcmOpen(contentKey, nonce, body, associated));
  let inner;
  try {
    inner = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch {
    throw new DecryptError('the inner message is not JSON');
  }
  if (!inner || typeof inner !== 'object' || Array.isArray(inner) || inner.v !== 1 || typeof inner.kind !== 'string') {
    throw new DecryptError('the inner message is not a v1 object');
  }
  return inner;
}
