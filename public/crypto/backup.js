// History under a recovery key (docs/e2ee.md §14): the map message id -> content key, its bytes,
// the recovery key's written form, and the backup sealed under a key derived from it. Mirrors
// payambar/e2ee/backup.py; checked against docs/e2ee-backup-vectors.json in Chromium.
import { DecryptError, concat, equal, label, readU32, readU64, u32, u64, u8 } from './bytes.js';
import { aesGcmOpen, aesGcmSeal, hkdf, randomBytes, sha256 } from './primitives.js';

export const VERSION = 1;
export const KEY_BYTES = 32;
const CHECK_BYTES = 3;
const NONCE_BYTES = 12;
const ENTRY_BYTES = 8 + KEY_BYTES;
const BACKUP_LABEL = label('payambar/backup/v1');
const CHECK_LABEL = label('payambar/recovery-check/v1');
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const LINK_HISTORY_ENTRIES = 1500; // the newest entries a link payload carries
export const BACKUP_ENTRIES = 19_000; // keeps the sealed backup under the server's 1 MiB of base64url

// A written recovery key with a typo: wrong length, a character outside base32, a wrong check.
export class BadRecoveryKey extends Error {
  get name() {
    return 'BadRecoveryKey';
  }
}

export function newRecoveryKey() {
  return randomBytes(KEY_BYTES);
}

async function check(recoveryKey) {
  return (await sha256(concat(CHECK_LABEL, recoveryKey))).slice(0, CHECK_BYTES);
}

// RFC 4648 base32 without padding; 35 bytes are exactly 56 characters.
function base32(data) {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text) {
  const out = [];
  let bits = 0;
  let value = 0;
  for (const ch of text) {
    value = ((value << 5) | BASE32.indexOf(ch)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

// 56 base32 characters as 14 groups of 4, the last 3 bytes a check against typos.
export async function formatRecoveryKey(recoveryKey) {
  if (recoveryKey.length !== KEY_BYTES) throw new Error('a recovery key is 32 bytes');
  const text = base32(concat(recoveryKey, await check(recoveryKey)));
  return text.match(/.{4}/g).join('-');
}

// The key a person typed; BadRecoveryKey before anything is fetched when it has a typo.
export async function parseRecoveryKey(text) {
  const letters = String(text).replace(/[\s-]/g, '').toUpperCase();
  if (letters.length !== 56 || [...letters].some((ch) => !BASE32.includes(ch))) {
    throw new BadRecoveryKey('a recovery key is 56 letters and digits 2-7');
  }
  const raw = unbase32(letters);
  const key = raw.slice(0, KEY_BYTES);
  if (!equal(await check(key), raw.slice(KEY_BYTES))) throw new BadRecoveryKey('this recovery key has a typo');
  return key;
}

export async function backupKey(recoveryKey, userId) {
  return hkdf(recoveryKey, new Uint8Array(32), concat(BACKUP_LABEL, u64(userId)), 32);
}

export function associatedData(userId) {
  return concat(BACKUP_LABEL, u8(VERSION), u64(userId));
}

// H: version, count, then (u64 message id, CK) sorted by id. history: Map(message id -> CK bytes).
export function historyBytes(history) {
  const ids = [...history.keys()].sort((a, b) => a - b);
  const parts = [u8(VERSION), u32(ids.length)];
  for (const id of ids) {
    const key = history.get(id);
    if (!Number.isSafeInteger(id) || id <= 0 || key.length !== KEY_BYTES) {
      throw new Error('an entry is a message id and a 32-byte content key');
    }
    parts.push(u64(id), key);
  }
  return concat(...parts);
}

export function parseHistory(data) {
  if (data.length < 5 || data[0] !== VERSION) throw new DecryptError('not a history of this version');
  const count = readU32(data, 1);
  if (data.length !== 5 + count * ENTRY_BYTES) throw new DecryptError("the history's length does not match its count");
  const history = new Map();
  let previous = 0n;
  for (let at = 5; at < data.length; at += ENTRY_BYTES) {
    const id = readU64(data, at);
    if (id <= previous || id > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecryptError('history entries are sorted by message id, each once');
    history.set(Number(id), data.slice(at + 8, at + ENTRY_BYTES));
    previous = id;
  }
  return history;
}

export function newest(history, count) {
  const ids = [...history.keys()].sort((a, b) => a - b).slice(-count);
  return new Map(ids.map((id) => [id, history.get(id)]));
}

// The sealed bytes; `nonce` is fixed for test vectors only.
export async function sealBackup(recoveryKey, userId, history, nonce = randomBytes(NONCE_BYTES)) {
  const sealed = await aesGcmSeal(await backupKey(recoveryKey, userId), nonce, historyBytes(history), associatedData(userId));
  return concat(u8(VERSION), nonce, sealed);
}

// The map, or DecryptError when this key does not open this person's backup.
export async function openBackup(recoveryKey, userId, sealed) {
  if (sealed.length < 1 + NONCE_BYTES + 16 || sealed[0] !== VERSION) throw new DecryptError('not a backup of this version');
  const nonce = sealed.slice(1, 1 + NONCE_BYTES);
  const plain = await aesGcmOpen(await backupKey(recoveryKey, userId), nonce, sealed.slice(1 + NONCE_BYTES), associatedData(userId));
  return parseHistory(plain);
}
