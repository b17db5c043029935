// Linking a new browser device (docs/e2ee.md §9), the browser's payambar/e2ee/link.py and
// payambar/client/linking.py: the commitment and QR text the new device posts and shows, the key and
// short code both sides derive, the sealed payload that carries the identity key over, and both
// sides' flows through the server's relay (/api/keys/links).
//
//   New device (setUpDevice threw LinkRequired):
//     const request = await startLink(client)   // request.qr: the QR text, request.linkId
//     const code = await request.shortCode()     // once an existing device answered: show it
//     await request.finish()                     // the identity arrives: the device seals and opens
//   Existing device:
//     await approveLink(client, qrTextOrLinkId, async (code) => personSaysCodesMatch(code))
//
// Anything that does not check out (the commitment, the codes, the payload) throws LinkRefused and
// closes the link; nothing is kept or listed then.
import { ApiError } from '../api.js';
import { b64, concat, equal, label, unb64, utf8 } from './bytes.js';
import { historyBytes, parseHistory } from './backup.js';
import { Keystore, Pin } from './device.js';
import { listedDeviceKey, parseDeviceList } from './keys.js';
import { aesGcmOpen, aesGcmSeal, ed25519Public, hkdf, randomBytes, sha256, x25519, x25519Public } from './primitives.js';

export const QR_PREFIX = 'payambar-link:1:';
export const LINKS = '/api/keys/links';
export const LINK_SECONDS = 600;
const COMMIT_LABEL = label('payambar/link-commit/v1');
const KEY_INFO = label('payambar/link/v1');
const CODE_INFO = label('payambar/link-code/v1');
const PAYLOAD_LABEL = label('payambar/link-payload/v1');
const ZERO_SALT = new Uint8Array(32);
const ZERO_NONCE = new Uint8Array(12);
const REVEALED_BYTES = 32 + 8 + 32;
const STATES = ['requested', 'answered', 'revealed', 'sealed'];

export class LinkRefused extends Error {
  get name() {
    return 'LinkRefused';
  }
}

// R = LN public (32) || device id (8) || DK_N public (32), as {linkKey, deviceId, deviceKey}.
export function revealedBytes(revealed) {
  return concat(revealed.linkKey, revealed.deviceId, revealed.deviceKey);
}

export function parseRevealed(data) {
  if (data.length !== REVEALED_BYTES) throw new LinkRefused(`revealed values are ${REVEALED_BYTES} bytes, not ${data.length}`);
  return { linkKey: data.slice(0, 32), deviceId: data.slice(32, 40), deviceKey: data.slice(40) };
}

export function qrText(revealed) {
  return QR_PREFIX + b64(revealedBytes(revealed));
}

export function parseQr(text) {
  if (typeof text !== 'string' || !text.startsWith(QR_PREFIX)) throw new LinkRefused('not a Payambar link code');
  let data;
  try {
    data = unb64(text.slice(QR_PREFIX.length));
  } catch {
    throw new LinkRefused('the link code is not base64url');
  }
  return parseRevealed(data);
}

export async function commitment(data) {
  return sha256(concat(COMMIT_LABEL, data));
}

// Refuses values that are not the ones committed to before the approving key was seen.
export async function checkCommitment(revealed, committed) {
  if (!equal(await commitment(revealedBytes(revealed)), committed)) {
    throw new LinkRefused("the new device's values do not match its commitment");
  }
}

// T = LN public || LE public || device id || DK_N public.
export function transcript(revealed, existingKey) {
  return concat(revealed.linkKey, existingKey, revealed.deviceId, revealed.deviceKey);
}

// {key, code, transcript, shared} from one side's link private key and the other side's public one.
export async function derive(ownPrivate, theirPublic, revealed, existingKey) {
  const shared = x25519(ownPrivate, theirPublic);
  const t = transcript(revealed, existingKey);
  const key = await hkdf(shared, ZERO_SALT, concat(KEY_INFO, t), 32);
  const codeBytes = await hkdf(shared, ZERO_SALT, concat(CODE_INFO, t), 8);
  const number = new DataView(codeBytes.buffer).getBigUint64(0) % 1_000_000n;
  return { shared, key, codeBytes, code: number.toString().padStart(6, '0'), transcript: t };
}

export async function sealPayload(secrets, payload) {
  return aesGcmSeal(secrets.key, ZERO_NONCE, payload, concat(PAYLOAD_LABEL, secrets.transcript));
}

export async function openPayload(secrets, sealed) {
  try {
    return await aesGcmOpen(secrets.key, ZERO_NONCE, sealed, concat(PAYLOAD_LABEL, secrets.transcript));
  } catch {
    throw new LinkRefused("the payload does not open with this link's key");
  }
}

// The payload's UTF-8 JSON: verified is [{userId, identityKey}]; history (a Map of message id ->
// content key, docs/e2ee.md §14) is left out when null.
export function payloadJson(identitySeed, deviceListJson, verified, history = null) {
  const body = {
    identity_seed: b64(identitySeed),
    device_list: deviceListJson,
    verified: verified.map((v) => ({ user_id: v.userId, identity_key: b64(v.identityKey) })),
  };
  if (history) body.history = b64(historyBytes(history));
  return utf8(JSON.stringify(body));
}

// The opened payload, checked: its list is signed by the identity it hands over, names this
// person and lists the new device with its own device key. {identitySeed, deviceList, verified,
// history (a Map, empty when the payload has none)}.
export function parsePayload(data, userId, revealed) {
  let seed, deviceList, verified, history;
  try {
    const body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
    seed = unb64(body.identity_seed);
    deviceList = parseDeviceList(body.device_list);
    verified = (body.verified || []).map((v) => ({ userId: Number(v.user_id), identityKey: unb64(v.identity_key) }));
    history = body.history == null ? new Map() : parseHistory(unb64(body.history));
  } catch (error) {
    throw new LinkRefused(`the payload is malformed: ${error.message}`);
  }
  if (seed.length !== 32 || !equal(ed25519Public(seed), deviceList.identityKey)) {
    throw new LinkRefused("the payload's identity key does not sign its device list");
  }
  if (deviceList.userId !== userId) throw new LinkRefused("the payload's device list is another person's");
  if (!equal(listedDeviceKey(deviceList, revealed.deviceId), revealed.deviceKey)) {
    throw new LinkRefused("the payload's device list does not hold this device");
  }
  return { identitySeed: seed, deviceList, verified, history };
}

// The link once it is past `state`; LinkRefused when it was closed, expired or the time ran out.
// `signal` (an AbortSignal) stops the wait between two reads.
async function waitPast(client, linkId, state, timeoutMs, signal) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new LinkRefused('cancelled');
    const wait = Math.max(0, Math.min(25, Math.floor((deadline - Date.now()) / 1000)));
    let link;
    try {
      link = await client.request('GET', `${LINKS}/${linkId}?after=${state}&wait=${wait}`);
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 410)) {
        throw new LinkRefused(`the link is gone (${error.code})`);
      }
      throw error;
    }
    if (STATES.indexOf(link.state) > STATES.indexOf(state)) return link;
    if (Date.now() >= deadline) throw new LinkRefused('no answer in time');
  }
}

async function closeQuietly(client, linkId) {
  try {
    await client.request('DELETE', `${LINKS}/${linkId}`);
  } catch {
    // closed by the other side already, or expired
  }
}

// The new device's side of one link: its fresh keys (saved only when the link succeeds), the QR
// text it shows, then the short code and the handed-over identity.
export class LinkRequest {
  constructor(client, keystore, linkPrivate, linkId) {
    this.client = client;
    this.keystore = keystore;
    this.linkPrivate = linkPrivate;
    this.linkId = linkId;
    this.revealed = { linkKey: x25519Public(linkPrivate), deviceId: keystore.device.deviceId, deviceKey: keystore.deviceKey };
    this.secrets = null;
    this.revealing = null;
    this.aborter = new AbortController();
  }

  get qr() {
    return qrText(this.revealed);
  }

  // Waits for an existing device to answer, reveals this device's values (only now, after the
  // answer) and returns the 6-digit code both screens show.
  async shortCode(timeoutMs = LINK_SECONDS * 1000) {
    this.revealing ??= this.reveal(timeoutMs).catch((error) => {
      this.revealing = null;
      throw error;
    });
    return (await this.revealing).code;
  }

  async reveal(timeoutMs) {
    const link = await waitPast(this.client, this.linkId, 'requested', timeoutMs, this.aborter.signal);
    const existingKey = unb64(link.existing_key);
    if (link.revealed == null) {
      await this.client.request('POST', `${LINKS}/${this.linkId}/reveal`, { revealed: b64(revealedBytes(this.revealed)) });
    }
    this.secrets = await derive(this.linkPrivate, existingKey, this.revealed, existingKey);
    return this.secrets;
  }

  // Waits for the sealed payload, opens and checks it, then keeps the identity key, saves this
  // device's keys and publishes its bundle. LinkRefused when anything does not check out.
  async finish(timeoutMs = LINK_SECONDS * 1000) {
    await this.shortCode(timeoutMs);
    let payload;
    try {
      const link = await waitPast(this.client, this.linkId, 'revealed', timeoutMs, this.aborter.signal);
      if (link.sealed == null) throw new LinkRefused('the link ended without a payload');
      const opened = await openPayload(this.secrets, unb64(link.sealed));
      payload = parsePayload(opened, this.client.user.id, this.revealed);
    } catch (error) {
      if (error instanceof LinkRefused) await closeQuietly(this.client, this.linkId);
      throw error;
    }
    const keystore = this.keystore;
    keystore.identitySeed = payload.identitySeed;
    keystore.listVersion = payload.deviceList.version;
    for (const { userId, identityKey } of payload.verified) {
      if (userId !== this.client.user.id) keystore.pins.set(userId, new Pin(identityKey, 0, new Map(), true));
    }
    const { store } = this.client;
    // Saved once its bundle is up (a device listed without one would never be written to).
    await store.exclusive(async () => {
      if (await store.load()) throw new LinkRefused('this browser has device keys already');
      await this.client.publishPrekeysWith(keystore);
      await store.save(keystore);
      globalThis.navigator?.storage?.persist?.().catch(() => {});
    });
    if (payload.history.size) await store.putKeys([...payload.history]); // what was sent before it joined
    this.client.directory.clear();
    await closeQuietly(this.client, this.linkId);
  }

  // The person gave up (or chose a new identity instead): the link goes, nothing is kept.
  async cancel() {
    this.aborter.abort();
    await closeQuietly(this.client, this.linkId);
  }
}

// On a browser with no device yet (setUpDevice threw LinkRequired): makes its keys (kept in
// memory until the link succeeds) and posts the commitment to its link values.
export async function startLink(client) {
  if (await client.hasDevice()) throw new LinkRefused('this browser has device keys already: a device is linked once');
  // The identity made here is never used: the approving device's replaces it before anything is saved.
  const keystore = Keystore.newDevice(client.user.id);
  const linkPrivate = randomBytes(32);
  const revealed = { linkKey: x25519Public(linkPrivate), deviceId: keystore.device.deviceId, deviceKey: keystore.deviceKey };
  const committed = await commitment(revealedBytes(revealed));
  const link = await client.request('POST', LINKS, { commitment: b64(committed) });
  return new LinkRequest(client, keystore, linkPrivate, link.id);
}

// The link that a scanned or pasted QR text names (with its revealed values), or one picked by id.
async function linkFor(client, qrTextOrLinkId) {
  const text = qrTextOrLinkId.trim();
  if (!text.startsWith(QR_PREFIX)) {
    try {
      return { link: await client.request('GET', `${LINKS}/${encodeURIComponent(text)}`), revealed: null };
    } catch (error) {
      if (error instanceof ApiError && (error.status === 404 || error.status === 410)) {
        throw new LinkRefused(`no such link request (${error.code})`);
      }
      throw error;
    }
  }
  const revealed = parseQr(text);
  const wanted = b64(await commitment(revealedBytes(revealed)));
  const { links } = await client.request('GET', LINKS);
  const link = links.find((each) => each.commitment === wanted && each.state === 'requested');
  if (!link) throw new LinkRefused('no link request of yours matches this code');
  return { link, revealed };
}

// The person's link requests from other devices that no existing device answered yet.
export async function pendingLinks(client) {
  const { links } = await client.request('GET', LINKS);
  return links.filter((link) => !link.from_this_device && link.state === 'requested');
}

// On an existing device: answers the link request, checks the new device's values against its
// commitment, asks `confirm(code)` (true when the person says both screens show that code), then
// lists the device and seals the identity key to it. Returns the new device's id (bytes).
export async function approveLink(client, qrTextOrLinkId, confirm, { timeoutMs = LINK_SECONDS * 1000 } = {}) {
  let { link, revealed } = await linkFor(client, qrTextOrLinkId);
  const committed = unb64(link.commitment); // read before this device's key is posted
  const linkId = link.id;
  let listed = null; // the new device's id once the list with it is published
  try {
    const linkPrivate = randomBytes(32);
    const existingKey = x25519Public(linkPrivate);
    try {
      await client.request('POST', `${LINKS}/${linkId}/answer`, { existing_key: b64(existingKey) });
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) throw new LinkRefused(`the link cannot be answered (${error.code})`);
      throw error;
    }
    if (!revealed) {
      link = await waitPast(client, linkId, 'answered', timeoutMs);
      revealed = parseRevealed(unb64(link.revealed));
    }
    await checkCommitment(revealed, committed);
    const secrets = await derive(linkPrivate, revealed.linkKey, revealed, existingKey);
    if (!(await confirm(secrets.code))) throw new LinkRefused('the short codes differ');
    const card = { deviceId: revealed.deviceId, deviceKey: revealed.deviceKey };
    const payload = await client.withKeys(async (keystore) => {
      const own = await client.keysOfWith(keystore, client.user.username, true);
      if (listedDeviceKey(own.deviceList, card.deviceId)) throw new LinkRefused('a device with this id is listed already');
      const list = await client.publishList(keystore, [...own.deviceList.devices, card]);
      listed = card.deviceId;
      const verified = [...keystore.pins]
        .filter(([userId, pin]) => pin.verified && userId !== client.user.id)
        .map(([userId, pin]) => ({ userId, identityKey: pin.identityKey }));
      return payloadJson(keystore.identitySeed, list, verified, await client.linkHistory());
    });
    const sealed = await sealPayload(secrets, payload);
    await client.request('POST', `${LINKS}/${linkId}/seal`, { sealed: b64(sealed) });
  } catch (error) {
    // Listed but never handed its identity: the device comes off the list again (it has no keys
    // and never will; left there, it would stay as a device that reads nothing). A seal whose
    // answer was lost on the way may have arrived: that device stays.
    const maybeSealed = error instanceof ApiError && error.isNetwork;
    if (listed && !maybeSealed) await client.removeDevice(listed).catch(() => {});
    if (error instanceof LinkRefused || listed) await closeQuietly(client, linkId);
    throw error;
  }
  return revealed.deviceId;
}
