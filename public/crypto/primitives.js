// The primitives the protocol uses (docs/e2ee.md §1), none home-made: WebCrypto for SHA-2, HMAC,
// HKDF and AES-256-GCM; the vendored @noble modules for X25519, Ed25519 and ML-KEM-768.
import { ed25519, x25519 as curve } from '../vendor/noble/curves/ed25519.js';
import { ml_kem768 } from '../vendor/noble/post-quantum/ml-kem.js';
import { DecryptError } from './bytes.js';

const subtle = globalThis.crypto.subtle;

export const MLKEM_PUBLIC_BYTES = 1184;
export const MLKEM_CIPHERTEXT_BYTES = 1088;

export function randomBytes(length) {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

export async function sha256(data) {
  return new Uint8Array(await subtle.digest('SHA-256', data));
}

export async function sha512(data) {
  return new Uint8Array(await subtle.digest('SHA-512', data));
}

export async function hmacSha256(key, data) {
  const imported = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', imported, data));
}

export async function hkdf(ikm, salt, info, length) {
  const imported = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info }, imported, length * 8);
  return new Uint8Array(bits);
}

async function aesKey(key, usage) {
  return subtle.importKey('raw', key, 'AES-GCM', false, [usage]);
}

export async function aesGcmSeal(key, nonce, plaintext, associated) {
  const sealed = await subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: associated },
    await aesKey(key, 'encrypt'),
    plaintext,
  );
  return new Uint8Array(sealed);
}

export async function aesGcmOpen(key, nonce, ciphertext, associated) {
  try {
    const opened = await subtle.decrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: associated },
      await aesKey(key, 'decrypt'),
      ciphertext,
    );
    return new Uint8Array(opened);
  } catch {
    throw new DecryptError('ciphertext does not verify');
  }
}

export function x25519Public(privateKey) {
  return curve.getPublicKey(privateKey);
}

export function x25519(privateKey, publicKey) {
  try {
    return curve.getSharedSecret(privateKey, publicKey);
  } catch {
    throw new DecryptError('bad X25519 public key');
  }
}

export function ed25519Public(seed) {
  return ed25519.getPublicKey(seed);
}

export function ed25519Sign(seed, message) {
  return ed25519.sign(message, seed);
}

export function ed25519Verify(publicKey, signature, message) {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function mlkemPublic(seed) {
  return ml_kem768.keygen(seed).publicKey;
}

// (shared secret, ciphertext); `randomness` fixes m for test vectors only.
export function mlkemEncapsulate(publicKey, randomness) {
  try {
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(publicKey, randomness);
    return { sharedSecret, cipherText };
  } catch {
    throw new DecryptError('bad ML-KEM-768 public key');
  }
}

export function mlkemDecapsulate(seed, cipherText) {
  try {
    return ml_kem768.decapsulate(cipherText, ml_kem768.keygen(seed).secretKey);
  } catch {
    throw new DecryptError('bad ML-KEM-768 ciphertext');
  }
}
