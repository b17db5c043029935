// Attachments sealed end to end (docs/e2ee.md §7.6): the file in 64 KiB chunks, each AES-256-GCM
// under the file's own random key (WebCrypto), the nonce = prefix (7) || u32 index || u8 last, the
// associated data the label and the 8-byte header. The SHA-256 of the whole ciphertext goes in the
// envelope; WebCrypto has no incremental SHA-256, so it is the vendored @noble/hashes one, fed chunk
// by chunk. Input is a Blob or bytes, read a chunk at a time; nothing holds more than one chunk of
// it beyond the input and the output being built.
import { sha256 as sha256Hasher } from '../vendor/noble/hashes/sha2.js';
import { DecryptError, b64, concat, equal, label, u32, unb64 } from './bytes.js';
import { randomBytes } from './primitives.js';

const subtle = globalThis.crypto.subtle;

export const VERSION = 1;
export const CHUNK = 64 * 1024;
export const TAG = 16;
export const SEALED_CHUNK = CHUNK + TAG;
export const PREFIX = 7;
export const HEADER = 1 + PREFIX;
export const LABEL = label('payambar/attachment/v1');
export const TYPES = ['file', 'photo', 'video', 'voice'];
// The name every sealed upload carries in its tus metadata: the real one travels in the envelope.
export const NEUTRAL_NAME = 'file';
const MAX_CHUNKS = 2 ** 32;

export function chunkNonce(prefix, index, last) {
  if (index < 0 || index >= MAX_CHUNKS) throw new DecryptError('too many chunks');
  return concat(prefix, u32(index), new Uint8Array([last ? 1 : 0]));
}

export function associatedData(header) {
  return concat(LABEL, header);
}

export function sealedSize(size) {
  return HEADER + size + Math.max(1, Math.ceil(size / CHUNK)) * TAG;
}

function lengthOf(input) {
  return input instanceof Blob ? input.size : input.byteLength;
}

async function slice(input, start, end) {
  if (input instanceof Blob) return new Uint8Array(await input.slice(start, end).arrayBuffer());
  const bytes = ArrayBuffer.isView(input)
    ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : new Uint8Array(input);
  return bytes.subarray(start, end);
}

async function aesKey(key, usage) {
  if (!(key instanceof Uint8Array) || key.length !== 32) throw new DecryptError('a file key is 32 bytes');
  return subtle.importKey('raw', key, 'AES-GCM', false, [usage]);
}

// Seals a file piece by piece: `for await (const piece of sealer.pieces())` gives the ciphertext in
// order (header first), and `sealer.sealed` ({key, digest, size}) is set once the last has come.
export class FileSealer {
  constructor(input, { key = randomBytes(32), prefix = randomBytes(PREFIX) } = {}) {
    if (prefix.length !== PREFIX) throw new Error('a nonce prefix is 7 bytes');
    this.input = input;
    this.key = key;
    this.prefix = prefix;
    this.header = concat(new Uint8Array([VERSION]), prefix);
    this.size = lengthOf(input);
    this.sealedSize = sealedSize(this.size);
    this.sealed = null;
  }

  async *pieces() {
    const aes = await aesKey(this.key, 'encrypt');
    const ad = associatedData(this.header);
    const hash = sha256Hasher.create();
    hash.update(this.header);
    yield this.header;
    const chunks = Math.max(1, Math.ceil(this.size / CHUNK));
    for (let index = 0; index < chunks; index += 1) {
      const plain = await slice(this.input, index * CHUNK, Math.min(this.size, (index + 1) * CHUNK));
      const iv = chunkNonce(this.prefix, index, index === chunks - 1);
      const sealed = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: ad }, aes, plain));
      hash.update(sealed);
      yield sealed;
    }
    this.sealed = { key: this.key, digest: hash.digest(), size: this.size };
  }
}

// The whole ciphertext as a Blob, with what the envelope carries: {blob, key, digest, size}.
export async function sealFile(input, options = {}) {
  const sealer = new FileSealer(input, options);
  const parts = [];
  for await (const piece of sealer.pieces()) parts.push(piece);
  return { blob: new Blob(parts, { type: 'application/octet-stream' }), ...sealer.sealed };
}

async function digestOf(input) {
  const hash = sha256Hasher.create();
  const total = lengthOf(input);
  for (let at = 0; at < total; at += 16 * SEALED_CHUNK) {
    hash.update(await slice(input, at, Math.min(total, at + 16 * SEALED_CHUNK)));
  }
  return hash.digest();
}

// Opens a sealed file (Blob or bytes) with the envelope's {key, digest, size}: the digest is
// checked over all of it first, then every chunk, then the size. Any failure is a DecryptError and
// gives nothing back. Returns a Blob of the plaintext (of `mime`, when given).
export async function openFile(input, { key, digest, size }, mime = '') {
  const total = lengthOf(input);
  if (!equal(await digestOf(input), digest)) throw new DecryptError("the file's digest does not match the envelope's");
  if (size !== undefined && size !== null && total !== sealedSize(size)) {
    throw new DecryptError("the file's length does not match the envelope's size");
  }
  if (total < HEADER + TAG) throw new DecryptError('the file is cut short');
  const header = await slice(input, 0, HEADER);
  if (header[0] !== VERSION) throw new DecryptError(`unknown attachment version ${header[0]}`);
  const prefix = header.subarray(1);
  const aes = await aesKey(key, 'decrypt');
  const ad = associatedData(header);
  const chunks = Math.ceil((total - HEADER) / SEALED_CHUNK);
  const parts = [];
  let opened = 0;
  for (let index = 0; index < chunks; index += 1) {
    const start = HEADER + index * SEALED_CHUNK;
    const piece = await slice(input, start, Math.min(total, start + SEALED_CHUNK));
    if (piece.length < TAG) throw new DecryptError('the file is cut short');
    const iv = chunkNonce(prefix, index, index === chunks - 1);
    try {
      const plain = new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv, additionalData: ad }, aes, piece));
      opened += plain.length;
      parts.push(plain);
    } catch {
      throw new DecryptError(`chunk ${index} does not verify (wrong key, changed, cut or reordered)`);
    }
  }
  if (size !== undefined && size !== null && opened !== size) {
    throw new DecryptError("the file's size does not match the envelope's");
  }
  return new Blob(parts, { type: mime });
}

// The `attachment` of a `media` inner message (§7.6) for a sealed, uploaded file. `details` may hold
// type, width, height, duration_ms, waveform, thumbnail ({mime, width, height, data}), blurhash.
export function attachmentFields(fileId, sealed, name, mime, details = {}) {
  return {
    ...details,
    file_id: fileId,
    type: TYPES.includes(details.type) ? details.type : 'file',
    key: b64(sealed.key),
    digest: b64(sealed.digest),
    size: sealed.size,
    name,
    mime,
  };
}

// The attachment of a received `media` inner message, its key and digest as bytes; a DecryptError
// when it is not one.
export function attachmentOf(inner) {
  const found = inner && inner.kind === 'media' ? inner.attachment : null;
  if (!found || typeof found !== 'object') throw new DecryptError('not a media message');
  let key;
  let digest;
  try {
    key = unb64(found.key);
    digest = unb64(found.digest);
  } catch {
    throw new DecryptError("the attachment's key or digest is not base64url");
  }
  if (key.length !== 32 || digest.length !== 32) {
    throw new DecryptError("the attachment's key or digest has the wrong length");
  }
  if (typeof found.file_id !== 'string' || !found.file_id) throw new DecryptError('the attachment has no file id');
  if (!Number.isSafeInteger(found.size) || found.size < 0) {
    throw new DecryptError("the attachment's size is not a count of bytes");
  }
  return {
    ...found,
    type: TYPES.includes(found.type) ? found.type : 'file',
    name: typeof found.name === 'string' ? found.name : 'file',
    mime: typeof found.mime === 'string' ? found.mime : 'application/octet-stream',
    key,
    digest,
  };
}
