// The Double Ratchet between two devices (docs/e2ee.md §6): X25519 DH ratchet, HKDF-SHA256 root
// chain, HMAC-SHA256 chains. Mirrors payambar/e2ee/ratchet.py.
//
// A state is changed only by a message that verifies: `receiveKey` works on a copy and the caller
// keeps the copy only when the wrapped key opened, so a tampered, replayed or foreign entry leaves
// it as it was.
import { DecryptError, b64, equal, hex, u8, unb64, utf8 } from './bytes.js';
import { aesGcmOpen, aesGcmSeal, hkdf, hmacSha256, randomBytes, x25519, x25519Public } from './primitives.js';

const RATCHET_INFO = utf8('payambar/ratchet/v1');
const WRAP_INFO = utf8('payambar/wrap/v1');
export const MAX_SKIP = 1000; // message keys one header may make a device skip
export const MAX_SKIPPED = 2000; // skipped keys a session keeps; the oldest go first
const ZERO_SALT = new Uint8Array(32);

// KDF_RK: (new root key, chain key).
export async function kdfRoot(root, dhOutput) {
  const out = await hkdf(dhOutput, root, RATCHET_INFO, 64);
  return [out.slice(0, 32), out.slice(32)];
}

// KDF_CK: (next chain key, message key).
export async function kdfChain(chain) {
  return Promise.all([hmacSha256(chain, u8(2)), hmacSha256(chain, u8(1))]);
}

// WRAP: (AES key, nonce) of a message key.
export async function wrapKeyAndNonce(messageKey) {
  const out = await hkdf(messageKey, ZERO_SALT, WRAP_INFO, 44);
  return [out.slice(0, 32), out.slice(32)];
}

export async function sealWith(messageKey, plaintext, associated) {
  const [key, nonce] = await wrapKeyAndNonce(messageKey);
  return aesGcmSeal(key, nonce, plaintext, associated);
}

export async function openWith(messageKey, ciphertext, associated) {
  const [key, nonce] = await wrapKeyAndNonce(messageKey);
  return aesGcmOpen(key, nonce, ciphertext, associated);
}

function skippedKey(ratchetPublic, number) {
  return `${hex(ratchetPublic)}:${number}`;
}

export class Ratchet {
  constructor(root, sendPrivate, receivePublic, fields = {}) {
    this.root = root;
    this.sendPrivate = sendPrivate;
    this.receivePublic = receivePublic; // null until the first message is received
    this.sendChain = fields.sendChain ?? null;
    this.receiveChain = fields.receiveChain ?? null;
    this.sent = fields.sent ?? 0; // Ns
    this.received = fields.received ?? 0; // Nr
    this.previous = fields.previous ?? 0; // PN
    this.skipped = fields.skipped ?? new Map(); // "hex(ratchet key):n" -> {ratchetPublic, number, key}
    this.sendPublicCache = fields.sendPublicCache ?? null;
  }

  static async initiator(root, peerSignedPrekey, ratchetPrivate = null) {
    const own = ratchetPrivate || randomBytes(32);
    const [next, sendChain] = await kdfRoot(root, x25519(own, peerSignedPrekey));
    return new Ratchet(next, own, peerSignedPrekey, { sendChain });
  }

  static responder(root, signedPrekeyPrivate) {
    return new Ratchet(root, signedPrekeyPrivate, null);
  }

  // Computed once per DH step (a scalar multiplication costs about as much as the rest of a seal).
  get sendPublic() {
    if (!this.sendPublicCache || this.sendPublicCache.of !== this.sendPrivate) {
      this.sendPublicCache = { of: this.sendPrivate, key: x25519Public(this.sendPrivate) };
    }
    return this.sendPublicCache.key;
  }

  // A copy to work on: byte arrays are never changed in place, so sharing them is safe.
  copy() {
    return new Ratchet(this.root, this.sendPrivate, this.receivePublic, {
      sendChain: this.sendChain,
      receiveChain: this.receiveChain,
      sent: this.sent,
      received: this.received,
      previous: this.previous,
      skipped: new Map(this.skipped),
      sendPublicCache: this.sendPublicCache,
    });
  }

  // {ratchetKey, previous, number, messageKey} for the next message sent; advances the chain.
  async nextSendKey() {
    if (!this.sendChain) throw new DecryptError('this session has not received a message to answer yet');
    const [chain, messageKey] = await kdfChain(this.sendChain);
    this.sendChain = chain;
    const number = this.sent;
    this.sent += 1;
    return { ratchetKey: this.sendPublic, previous: this.previous, number, messageKey };
  }

  // [the state after, message key] for a header; this state is left untouched.
  async receiveKey(ratchetPublic, previous, number, nextPrivate = null) {
    const state = this.copy();
    const name = skippedKey(ratchetPublic, number);
    const found = state.skipped.get(name);
    if (found) {
      state.skipped.delete(name);
      return [state, found.key];
    }
    if (!equal(ratchetPublic, state.receivePublic)) {
      await state.skipTo(previous);
      await state.turn(ratchetPublic, nextPrivate);
    }
    await state.skipTo(number);
    const [chain, messageKey] = await kdfChain(state.receiveChain);
    state.receiveChain = chain;
    state.received += 1;
    return [state, messageKey];
  }

  async skipTo(until) {
    if (!this.receiveChain) return;
    if (until - this.received > MAX_SKIP) throw new DecryptError('too many skipped messages');
    while (this.received < until) {
      const [chain, messageKey] = await kdfChain(this.receiveChain);
      this.receiveChain = chain;
      this.skipped.set(skippedKey(this.receivePublic, this.received), {
        ratchetPublic: this.receivePublic,
        number: this.received,
        key: messageKey,
      });
      this.received += 1;
    }
    while (this.skipped.size > MAX_SKIPPED) this.skipped.delete(this.skipped.keys().next().value);
  }

  async turn(ratchetPublic, nextPrivate) {
    this.previous = this.sent;
    this.sent = 0;
    this.received = 0;
    this.receivePublic = ratchetPublic;
    [this.root, this.receiveChain] = await kdfRoot(this.root, x25519(this.sendPrivate, ratchetPublic));
    this.sendPrivate = nextPrivate || randomBytes(32);
    [this.root, this.sendChain] = await kdfRoot(this.root, x25519(this.sendPrivate, ratchetPublic));
  }

  // The same JSON shape as the Python Ratchet.as_json.
  asJson() {
    const optional = (value) => (value ? b64(value) : null);
    return {
      root: b64(this.root),
      send_private: b64(this.sendPrivate),
      receive_public: optional(this.receivePublic),
      send_chain: optional(this.sendChain),
      receive_chain: optional(this.receiveChain),
      sent: this.sent,
      received: this.received,
      previous: this.previous,
      skipped: [...this.skipped.values()].map((s) => [b64(s.ratchetPublic), s.number, b64(s.key)]),
    };
  }

  static fromJson(data) {
    const optional = (value) => (value == null ? null : unb64(value));
    const skipped = new Map();
    for (const [publicKey, number, key] of data.skipped) {
      const ratchetPublic = unb64(publicKey);
      skipped.set(skippedKey(ratchetPublic, number), { ratchetPublic, number, key: unb64(key) });
    }
    return new Ratchet(unb64(data.root), unb64(data.send_private), optional(data.receive_public), {
      sendChain: optional(data.send_chain),
      receiveChain: optional(data.receive_chain),
      sent: data.sent,
      received: data.received,
      previous: data.previous,
      skipped,
    });
  }
}
