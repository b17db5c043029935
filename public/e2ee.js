// End-to-end encryption in the app: this device's keys, whether each chat is encrypted, sealing
// what the outbox sends and opening what arrives. Opened text stays on this device (memory and
// IndexedDB); nothing opened is ever sent back. The protocol itself lives in /crypto/.
import { request } from '/api.js';
import * as db from '/db.js';
import { emit } from '/events.js';

// 'starting', 'ready' (this device seals and opens), 'needs_approval' (the person has devices,
// this browser is not one of them yet) or 'unavailable' (the keys could not be made or loaded).
export const device = { status: 'starting', error: null };

// peer username -> {encrypted: true | false | null (not known yet), identityChanged, newDevice, verified}
const peers = new Map();
const opened = new Map(); // "<id>:<digest>" -> inner (or a failure) for this page's life
let client = null;
let protocol = null; // the /crypto/client.js module
let mediaProtocol = null; // the /crypto/media.js module
let me = null;
let chain = Promise.resolve();
let settingUp = Promise.resolve();
let localKeys = Promise.resolve(true); // whether this browser had keys already (known early in setting up)

export class SendBlocked extends Error {
  constructor(reason, peer) {
    super(reason);
    this.code = reason; // 'identity_changed', 'device_not_ready', 'keys_rejected', 'keys_unavailable'
    this.peer = peer;
  }
}

// Every use of the ratchets waits its turn: two opens at once would race for the same state.
function serial(work) {
  const run = chain.then(work, work);
  chain = run.catch(() => {});
  return run;
}

export function peerState(peer) {
  if (!peers.has(peer)) peers.set(peer, { encrypted: null, identityChanged: false, newDevice: false, verified: false });
  return peers.get(peer);
}

function changed(peer) {
  emit('e2ee', peer);
}

// After log in: loads this device's keys, or makes a new identity for a person's first device.
// Sealing and opening wait for it; the screens do not.
export function setUpDevice(user) {
  let known;
  localKeys = new Promise((resolve) => (known = resolve));
  settingUp = setUp(user, known);
  return settingUp;
}

// A browser that makes its first keys (sign up, or a person's first log in) waits for them to be
// published before the app shows: the people it writes to see them at once.
export async function untilFirstKeys() {
  if (!(await localKeys)) await settingUp;
}

async function setUp(user, known) {
  me = user;
  device.status = 'starting';
  try {
    protocol = await import('/crypto/client.js');
    mediaProtocol = await import('/crypto/media.js');
    client = await protocol.E2eeClient.open({ id: user.id, username: user.username });
    known(await client.hasDevice());
    // However the keys were checked (sending, opening), a device not seen before is told in its chat.
    client.onNewDevices(({ username, firstContact }) => {
      if (firstContact || !username || username === me?.username) return;
      peerState(username).newDevice = true;
      changed(username);
    });
    await client.setUpDevice();
    device.status = 'ready';
  } catch (error) {
    device.error = error;
    if (protocol && error instanceof protocol.LinkRequired) device.status = 'needs_approval';
    else {
      client = null;
      device.status = 'unavailable';
    }
  }
  known(true);
  for (const [key, value] of await db.kvWithPrefix('e2ee-peer:')) Object.assign(peerState(key.slice(10)), value, { encrypted: value.encrypted ?? null });
  emit('e2ee', null);
  return device.status;
}

// A `keys` frame: that person's device list changed (a new device, a new identity key).
export function keysChanged(peer) {
  client?.keysChanged(peer);
  return refreshPeer(peer);
}

export function forgetDevice() {
  client = null;
  me = null;
  peers.clear();
  opened.clear();
  device.status = 'starting';
}

function remember(peer) {
  const { encrypted, verified, identityChanged } = peerState(peer);
  db.kvSet(`e2ee-peer:${peer}`, { encrypted, verified, identityChanged });
}

// Fetches and checks a person's keys: whether the chat is encrypted, a changed identity, a new device.
export async function refreshPeer(peer) {
  await settingUp;
  const known = peerState(peer);
  if (!client || device.status !== 'ready') return refreshWithoutKeys(peer, known);
  const before = known.encrypted;
  try {
    const keys = await serial(() => client.keysOf(peer, { fresh: true }));
    known.encrypted = true;
    known.userId = keys.userId;
    known.rejected = false;
    // The first look at someone's keys finds every device new; later ones only those added since.
    if (keys.newDevices?.length && before === true && peer !== me?.username) known.newDevice = true;
  } catch (error) {
    if (error instanceof protocol.PeerNotEncrypted) {
      // Someone who once had keys never goes back to plaintext: the server is not to be believed.
      if (before === true) known.identityChanged = true;
      else known.encrypted = false;
    } else if (error instanceof protocol.IdentityChanged) {
      known.encrypted = true;
      known.identityChanged = true;
      known.userId = error.userId;
      known.verified = false;
    } else if (error instanceof protocol.KeysRejected) {
      known.rejected = true;
    } else {
      return known; // offline, or the server failed: nothing learned
    }
  }
  remember(peer);
  changed(peer);
  return known;
}

// Without keys of its own this device still learns whether a chat is plaintext (and so may be
// written to): the person has no device list at all.
async function refreshWithoutKeys(peer, known) {
  try {
    await request('GET', `/api/users/${encodeURIComponent(peer)}/keys`);
    known.encrypted = true;
  } catch (error) {
    if (error.code === 'no_keys' && known.encrypted !== true) known.encrypted = false;
  }
  remember(peer);
  changed(peer);
  return known;
}

// The person accepted the peer's new identity key: old pins and sessions go, sending resumes.
export async function acceptIdentity(peer) {
  const known = peerState(peer);
  if (client) await serial(() => client.acceptIdentity(known.userId ?? peer));
  known.identityChanged = false;
  known.verified = false;
  remember(peer);
  await refreshPeer(peer);
}

export function dismissNewDevice(peer) {
  peerState(peer).newDevice = false;
  changed(peer);
}

// The 60 digits both people see; null where the chat is not encrypted (or its key is in question).
export async function safetyNumber(peer) {
  await settingUp;
  const known = peerState(peer);
  if (!client || device.status !== 'ready' || known.encrypted !== true || known.identityChanged) return null;
  const answer = await serial(() => client.safetyNumber(peer));
  known.verified = answer.verified;
  return answer.number;
}

export async function markVerified(peer, verified = true) {
  const known = peerState(peer);
  if (client) await serial(() => client.markVerified(peer, verified));
  known.verified = verified;
  remember(peer);
  changed(peer);
}

// ---- sending ---------------------------------------------------------------------------------

// The fields of a send for `peer`: an envelope where the chat is encrypted, else the plaintext.
// `inner` is the protocol's inner message; `plain` the plaintext fields for a key-less peer.
export async function sealSend(peer, inner, clientId, plain) {
  if (!(await willSeal(peer))) return plain;
  const known = peerState(peer);
  try {
    const { envelope } = await serial(() => client.seal(peer, inner, clientId));
    if (known.unsealable) setUnsealable(peer, false);
    return { envelope };
  } catch (error) {
    if (error instanceof protocol.IdentityChanged) {
      await refreshPeer(peer);
      throw new SendBlocked('identity_changed', peer);
    }
    if (error instanceof protocol.KeysRejected) {
      // No device to seal for (notes to yourself with one device), or keys that do not check out.
      setUnsealable(peer, true);
      throw new SendBlocked('keys_rejected', peer);
    }
    throw error;
  }
}

// Whether what is sent to `peer` now is sealed (true) or goes in the clear to a person without
// keys (false); SendBlocked when neither may happen yet (a changed identity, keys not ready).
export async function willSeal(peer) {
  await settingUp;
  if (device.status === 'needs_approval' || device.status === 'starting') throw new SendBlocked('device_not_ready', peer);
  const known = await refreshPeer(peer);
  if (known.identityChanged) throw new SendBlocked('identity_changed', peer);
  if (device.status !== 'ready') {
    if (known.encrypted) throw new SendBlocked('keys_unavailable', peer);
    return false;
  }
  if (known.encrypted === false) return false;
  if (known.encrypted !== true || known.rejected) throw new SendBlocked('keys_rejected', peer);
  return true;
}

function setUnsealable(peer, unsealable) {
  peerState(peer).unsealable = unsealable;
  changed(peer);
}

export function textInner(text, { replyTo = null, forwardedFrom = null, edit = false, preview = null } = {}) {
  const inner = { v: 1, kind: edit ? 'edit' : forwardedFrom ? 'forward' : 'text', text, sent_at: Date.now() };
  if (replyTo != null) inner.reply_to = replyTo;
  if (preview) inner.preview = preview;
  if (forwardedFrom) inner.forwarded_from = forwardedFrom;
  return inner;
}

// The body of a reaction to a message of the chat with `peer`: {emoji} where the chat is plaintext,
// else the reaction sealed (inner kind reaction) with its client_id. SendBlocked as for a message.
export async function reactionFields(peer, messageId, emoji) {
  const clientId = `reaction-${[...crypto.getRandomValues(new Uint8Array(16))].map((byte) => byte.toString(16).padStart(2, '0')).join('')}`;
  const inner = { v: 1, kind: 'reaction', target: messageId, emoji, sent_at: Date.now() };
  const fields = await sealSend(peer, inner, clientId, { emoji });
  return fields.envelope ? { envelope: fields.envelope, client_id: clientId } : fields;
}

// A file's message (docs/e2ee.md §7.6, kind media): `attachment` the fields for its sealed upload.
export function mediaInner(text, attachment, { replyTo = null } = {}) {
  const inner = { v: 1, kind: 'media', attachment, sent_at: Date.now() };
  if (text) inner.text = text;
  if (replyTo != null) inner.reply_to = replyTo;
  return inner;
}

// ---- call signals ----------------------------------------------------------------------------

// A call's signal sealed for the peer (docs/calls.md, "Signals are envelopes"): for `devices`
// (base64url ids; null = every device of theirs). Never in the clear: a peer this device cannot
// seal for is not called (SendBlocked 'not_encrypted', 'identity_changed', 'keys_rejected', …).
export async function sealSignal(peer, callId, signal, { devices = null, fresh = false } = {}) {
  await settingUp;
  if (device.status !== 'ready' || !client) throw new SendBlocked('device_not_ready', peer);
  if (peerState(peer).identityChanged) throw new SendBlocked('identity_changed', peer);
  try {
    return await serial(() => client.sealSignal(peer, protocol.signalInner(callId, signal), { only: devices, fresh }));
  } catch (error) {
    if (error instanceof protocol.IdentityChanged) {
      await refreshPeer(peer);
      throw new SendBlocked('identity_changed', peer);
    }
    if (error instanceof protocol.PeerNotEncrypted) throw new SendBlocked('not_encrypted', peer);
    if (error instanceof protocol.KeysRejected) throw new SendBlocked('keys_rejected', peer);
    throw error;
  }
}

// A call frame's signal from `peer`, opened: {inner: {call_id, signal, …}, device}. Throws for
// anything that does not open (the call code treats the signal as never sent).
export async function openSignal(peer, text) {
  await settingUp;
  if (device.status !== 'ready' || !client) throw new SendBlocked('device_not_ready', peer);
  return serial(() => client.openSignal(peer, text));
}

// ---- receiving -------------------------------------------------------------------------------

async function digest(envelope) {
  const bytes = new TextEncoder().encode(envelope);
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return [...hash.slice(0, 12)].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

// A message as this device reads it: an envelope opened into `text` (and its reply and forward),
// `e2ee` 'opened', 'failed' or 'unsupported'; a plaintext message as it came.
export async function openMessage(message) {
  if (!message?.envelope || message.deleted) return message;
  sawEnvelope(message);
  const key = `${message.id}:${await digest(message.envelope)}`;
  let inner = opened.get(key);
  if (inner === undefined) {
    inner = await openFresh(message);
    if (!inner.failed) opened.set(key, inner);
  }
  const read = reading(message, inner);
  if (message.reactions?.some((reaction) => reaction.envelope)) read.reactions = await openReactions(message);
  return read;
}

// Each sealed reaction opened into its emoji; one that does not open, or names another message,
// is left out (never shown as anything else).
async function openReactions(message) {
  const shown = [];
  for (const reaction of message.reactions) {
    if (!reaction.envelope) continue;
    const key = `reaction:${message.id}:${await digest(reaction.envelope)}`;
    let inner = opened.get(key);
    if (inner === undefined) {
      const other = reaction.user === message.sender ? message.recipient : message.sender;
      inner = await openFresh({ id: `reaction-${message.id}`, sender: reaction.user, recipient: other, client_id: reaction.client_id, envelope: reaction.envelope });
      if (!inner.failed) opened.set(key, inner);
    }
    const fits = !inner.failed && inner.kind === 'reaction' && inner.target === message.id && typeof inner.emoji === 'string' && inner.emoji.length <= 16;
    if (fits && inner.emoji) shown.push({ user: reaction.user, at: reaction.at, emoji: inner.emoji });
  }
  return shown;
}

// An envelope in a chat: it is encrypted, whatever was known before.
function sawEnvelope(message) {
  if (!me) return;
  const peer = message.sender === me.username ? message.recipient : message.sender;
  const known = peerState(peer);
  if (known.encrypted === true) return;
  known.encrypted = true;
  remember(peer);
  changed(peer);
}

// Opened by the protocol client (which keeps what it opened and what this device sealed, sealed
// itself in its own database); any failure is a failure, never text.
async function openFresh(message) {
  await settingUp;
  if (!client || device.status !== 'ready') return { failed: true, reason: 'no keys on this device' };
  try {
    return (await serial(() => client.open(message))).inner;
  } catch (error) {
    return { failed: true, offline: Boolean(error?.isNetwork), reason: String(error?.message ?? error) };
  }
}

function reading(message, inner) {
  if (inner.failed) return { ...message, text: '', e2ee: 'failed' };
  if (inner.kind === 'media') return readingMedia(message, inner);
  if (!['text', 'edit', 'forward'].includes(inner.kind) || typeof inner.text !== 'string') return { ...message, text: '', e2ee: 'unsupported' };
  const result = { ...message, text: inner.text, e2ee: 'opened' };
  if (inner.reply_to != null) result.reply_to = inner.reply_to;
  result.preview = previewOf(inner.preview, inner.text); // null too: an edit that dropped the link drops it
  if (inner.forwarded_from) result.forwarded_from = inner.forwarded_from;
  return result;
}

// A link preview as the sender's device made it (the server fetched the page for it): shown only
// when it is well formed and its link is one the text has; every field the sender's word.
export function previewOf(found, text) {
  if (!found || typeof found !== 'object' || typeof found.url !== 'string' || typeof found.title !== 'string') return null;
  let url;
  try {
    url = new URL(found.url);
  } catch {
    return null;
  }
  if (!['http:', 'https:'].includes(url.protocol)) return null;
  const host = url.hostname.replace(/^www\./, '');
  if (!text.toLowerCase().includes(host.toLowerCase())) return null;
  const cut = (value, limit) => (typeof value === 'string' ? value.slice(0, limit) : undefined);
  const preview = { url: url.href, title: cut(found.title, 200), description: cut(found.description, 300), site_name: cut(found.site_name, 80) };
  const image = found.image;
  if (image && image.mime === 'image/jpeg' && typeof image.data === 'string' && image.data.length <= 22_000 && /^[A-Za-z0-9_-]+$/.test(image.data)) {
    preview.image = { mime: image.mime, data: image.data, width: Number(image.width) || 0, height: Number(image.height) || 0 };
  }
  return preview;
}

// A file's message: the attachment as the bubble shows it, from the envelope (its key, name, kind,
// size, thumbnail), fetched and opened on this device only when shown. The server's file must be
// the one the envelope names; anything else could not be decrypted.
function readingMedia(message, inner) {
  let found;
  try {
    found = mediaProtocol.attachmentOf(inner);
    if (message.attachment?.id !== found.file_id) throw new Error('the envelope names another file');
  } catch {
    return { ...message, text: '', e2ee: 'failed' };
  }
  const attachment = {
    id: found.file_id,
    sealed: { key: found.key, digest: found.digest, size: found.size },
    type: found.type,
    name: found.name,
    mime: found.mime,
    size: found.size,
  };
  for (const field of ['width', 'height', 'duration_ms']) if (Number.isSafeInteger(found[field]) && found[field] > 0) attachment[field] = found[field];
  if (Array.isArray(found.waveform) && found.waveform.every((level) => Number.isFinite(level))) attachment.waveform = found.waveform.slice(0, 128);
  const preview = found.thumbnail;
  if (preview && typeof preview.data === 'string' && preview.data.length <= 6000 && /^image\/(jpeg|webp|png)$/.test(preview.mime)) attachment.preview = { mime: preview.mime, data: preview.data };
  const result = { ...message, text: typeof inner.text === 'string' ? inner.text : '', attachment, e2ee: 'opened' };
  if (inner.reply_to != null) result.reply_to = inner.reply_to;
  if (inner.album) result.album = inner.album; // checked where it is drawn (ui/albums.js)
  if (typeof inner.forwarded_from === 'string' && inner.forwarded_from) result.forwarded_from = inner.forwarded_from;
  return result;
}

// Messages in order (a ratchet must see them in the order they came).
export async function openMessages(messages) {
  const result = [];
  for (const message of messages) result.push(await openMessage(message));
  return result;
}

// An update from the stream, with its message opened.
export async function openUpdate(update) {
  if (!update?.message) return update;
  return { ...update, message: await openMessage(update.message) };
}

// ---- history under a recovery key (docs/e2ee.md §14) -----------------------------------------

async function readyClient() {
  await settingUp;
  if (!client || device.status !== 'ready') throw new SendBlocked('device_not_ready', null);
  return client;
}

// {enabled, count, at, replaced} of this device's backup, or null while it has no keys.
export async function recoveryStatus() {
  await settingUp;
  return client && device.status === 'ready' ? client.recoveryStatus() : null;
}

// A new recovery key: this device's history is backed up under it at once; answers its written
// form (shown once, never stored in the clear, never sent).
export async function setUpRecovery() {
  return (await readyClient()).setUpRecovery();
}

export async function turnOffRecovery(options) {
  return (await readyClient()).turnOffRecovery(options);
}

// Restores history with a typed recovery key and answers how many messages the backup holds;
// throws BadRecoveryKey (a typo) or RecoveryFailed ('no_backup', 'wrong_key'). The messages this
// page could not open are opened again by the caller (model.reopenFailed).
export async function restoreHistory(written) {
  const count = await (await readyClient()).restore(written);
  emit('e2ee', null);
  return count;
}
