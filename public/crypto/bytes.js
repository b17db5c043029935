// Bytes: hex, canonical base64url (no padding), concatenation and big-endian integers.

export class DecryptError extends Error {
  get name() {
    return 'DecryptError';
  }
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function equal(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

export function compare(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i += 1) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

export function hex(data) {
  return Array.from(data, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function unhex(text) {
  if (text.length % 2 || /[^0-9a-f]/i.test(text)) throw new Error('not hex');
  return Uint8Array.from(text.match(/../g) || [], (pair) => parseInt(pair, 16));
}

export function utf8(text) {
  return new TextEncoder().encode(text);
}

export function label(text) {
  return concat(utf8(text), new Uint8Array([0]));
}

export function b64(data) {
  let binary = '';
  for (const byte of data) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function unb64(text) {
  if (typeof text !== 'string' || /[^A-Za-z0-9_-]/.test(text) || text.length % 4 === 1) {
    throw new Error('not base64url');
  }
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat(-text.length & 3));
  const data = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  if (b64(data) !== text) throw new Error('not canonical base64url');
  return data;
}

export function u8(value) {
  return new Uint8Array([value]);
}

export function u16(value) {
  return new Uint8Array([(value >>> 8) & 0xff, value & 0xff]);
}

export function u32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function u64(value) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

export function readU32(data, at) {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(at);
}

export function readU64(data, at) {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(at);
}
