// The hybrid handshake (X25519 + ML-KEM-768, after Signal's PQXDH; docs/e2ee.md §5).
import { concat, utf8 } from './bytes.js';
import { hkdf, mlkemDecapsulate, x25519 } from './primitives.js';

const HANDSHAKE_INFO = utf8('payambar/pqxdh/v1/x25519-mlkem768-sha256');
const CURVE_PREFIX = new Uint8Array(32).fill(0xff);
const ZERO_SALT = new Uint8Array(32);

export function handshakeInput(dh1, dh2, dh3, dh4, kemSecret) {
  return concat(CURVE_PREFIX, dh1, dh2, dh3, dh4 || new Uint8Array(0), kemSecret);
}

export async function rootKey(dh1, dh2, dh3, dh4, kemSecret) {
  return hkdf(handshakeInput(dh1, dh2, dh3, dh4, kemSecret), ZERO_SALT, HANDSHAKE_INFO, 32);
}

export function initiatorSecret(identityDhPrivate, ephemeralPrivate, peer, peerOneTime, kemSecret) {
  const dh1 = x25519(identityDhPrivate, peer.signedPrekey);
  const dh2 = x25519(ephemeralPrivate, peer.identityDh);
  const dh3 = x25519(ephemeralPrivate, peer.signedPrekey);
  const dh4 = peerOneTime ? x25519(ephemeralPrivate, peerOneTime) : null;
  return rootKey(dh1, dh2, dh3, dh4, kemSecret);
}

export function responderSecret(own, peerIdentityDh, peerEphemeral, kemCiphertext) {
  const dh1 = x25519(own.signedPrekeyPrivate, peerIdentityDh);
  const dh2 = x25519(own.identityDhPrivate, peerEphemeral);
  const dh3 = x25519(own.signedPrekeyPrivate, peerEphemeral);
  const dh4 = own.oneTimePrivate ? x25519(own.oneTimePrivate, peerEphemeral) : null;
  return rootKey(dh1, dh2, dh3, dh4, mlkemDecapsulate(own.pqSeed, kemCiphertext));
}
