// Safety numbers (docs/e2ee.md §8): 60 digits both people see alike, from both identity keys
// (after Signal's). Mirrors payambar/e2ee/safety.py.
import { concat, u16, u64 } from './bytes.js';
import { sha512 } from './primitives.js';

const ITERATIONS = 5200;
const FINGERPRINT_VERSION = 0;
export const QR_PREFIX = 'payambar-safety:1:';

// 30 digits for one person: SHA-512 iterated over the key, six 5-byte chunks, each mod 100 000.
export async function fingerprint(userId, identityKey) {
  let digest = await sha512(concat(u16(FINGERPRINT_VERSION), identityKey, u64(userId)));
  for (let i = 0; i < ITERATIONS - 1; i += 1) digest = await sha512(concat(digest, identityKey));
  let digits = '';
  for (let at = 0; at < 30; at += 5) {
    let chunk = 0;
    for (const byte of digest.slice(at, at + 5)) chunk = chunk * 256 + byte;
    digits += String(chunk % 100000).padStart(5, '0');
  }
  return digits;
}

// Both fingerprints, the smaller user id's first: the same 60 digits on both sides.
export async function safetyNumber(userA, keyA, userB, keyB) {
  const [first, second] = userA < userB ? [[userA, keyA], [userB, keyB]] : [[userB, keyB], [userA, keyA]];
  return (await fingerprint(...first)) + (await fingerprint(...second));
}

// "12345 67890 …": the number in groups of five, as shown.
export function grouped(number) {
  return number.match(/.{1,5}/g)?.join(' ') ?? '';
}

// The text a safety QR code carries.
export function qrText(number) {
  return QR_PREFIX + number;
}
