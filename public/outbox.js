// Messages waiting to be sent: kept in IndexedDB with their client_id, sent one at a time
// in the order they were written. The server dedupes by client_id, so a retry is always safe.
import { api } from '/api.js';
import { localAttachment, UPLOAD_REFUSALS, uploadAttachment } from '/attachments.js';
import * as db from '/db.js';
import { mediaInner, openMessage, SendBlocked, sealSend, textInner, willSeal } from '/e2ee.js';
import { prepareFile } from '/prepare.js';
import { removeMessage, state, upsertMessage } from '/model.js';

const RETRY_AFTER = 3000;
const PERMANENT_CODES = new Set(['forward_file_encrypted', 'invalid_input', 'user_not_found', 'not_found', 'forbidden', 'payload_too_large', 'bad_request', 'message_not_found', 'message_deleted']);

let connection = null;
let flushing = false;
let flushAgain = false;
let retryTimer = null;
let lastQueued = 0;

export function attachConnection(live) {
  connection = live;
}

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function pendingMessage(item) {
  return {
    id: null,
    client_id: item.client_id,
    sender: state.me.username,
    recipient: item.to,
    text: item.text,
    reply_to: item.reply_to,
    forwarded_from: item.forwarded_from ?? null,
    created_at: item.created_at,
    edited_at: null,
    deleted: false,
    status: item.failed ? 'failed' : 'pending',
    queued: item.queued,
    attachment: localAttachment(item),
    album: item.album ?? null,
  };
}

export async function restoreOutbox() {
  for (const item of await db.outboxAll()) upsertMessage(pendingMessage(item), { persist: false });
}

// `forward` ({of: message id, from: its first author}) makes the message a forward of another.
// `preview` ({url, title, …} of POST /api/link-preview) goes sealed inside the message, never in the clear.
// `album` ({id, index, count}, ui/albums.js) makes a file one part of an album; sealed too, so a
// plaintext chat's file goes without it.
export async function queueMessage(to, text, replyTo = null, attachment = null, forward = null, preview = null, album = null) {
  lastQueued = Math.max(Date.now(), lastQueued + 1);
  const item = {
    client_id: newClientId(),
    to,
    text,
    reply_to: replyTo,
    forward_of: forward?.of ?? null,
    forwarded_from: forward?.from ?? null,
    forwarded_file: Boolean(forward?.file),
    forwarded_sealed: Boolean(forward?.sealed),
    queued: lastQueued,
    created_at: new Date().toISOString(),
    attachment,
    preview,
    album,
  };
  // Stored before it is drawn: a page closed right after Enter must not take the message with it.
  const stored = db.outboxAdd(item);
  upsertMessage(pendingMessage(item), { persist: false });
  await stored;
  flushOutbox();
}

export async function flushOutbox() {
  if (!state.me) return;
  if (flushing) {
    flushAgain = true;
    return;
  }
  flushing = true;
  clearTimeout(retryTimer);
  try {
    do {
      flushAgain = false;
      const waiting = new Set(); // chats held back (a changed identity key): later messages there wait too
      for (const item of await db.outboxAll()) {
        if (item.failed || waiting.has(item.to)) continue;
        const sent = await sendOne(item);
        if (sent === 'blocked') waiting.add(item.to);
        else if (!sent) {
          retryTimer = setTimeout(flushOutbox, RETRY_AFTER);
          return;
        }
      }
    } while (flushAgain);
  } finally {
    flushing = false;
  }
}

// What goes on the wire: sealed into an envelope at send time where the chat is encrypted (the
// outbox keeps only the draft, on this device), the plaintext fields where the peer has no keys.
async function wireFields(item) {
  const plain = { text: item.text, reply_to: item.reply_to };
  // The server copies a plaintext original (text and any file); a sealed one it cannot read, so
  // its text goes as written (into a chat marked as not end-to-end encrypted).
  if (item.forward_of && !item.forwarded_sealed) {
    plain.forward_of = item.forward_of;
    delete plain.text;
  }
  const inner = textInner(item.text, { replyTo: item.reply_to, forwardedFrom: item.forward_of ? item.forwarded_from : null, preview: item.preview ?? null });
  const fields = await sealSend(item.to, inner, item.client_id, plain);
  if (fields.envelope && item.forwarded_file) {
    // A file forward queued before files were sent again (ui/actions.js forwardTo): its text alone
    // would be a different message.
    throw Object.assign(new Error('forward the file again'), { code: 'forward_file_encrypted' });
  }
  return { to: item.to, client_id: item.client_id, ...fields };
}

// A file for an encrypted chat (docs/e2ee.md §7.6): cleaned and measured here (prepare.js), sealed
// under a key of its own, uploaded as ciphertext under a neutral name, then announced by an
// envelope (kind media) that carries the key, the real name and the thumbnail. The sealed copy is
// made once and kept with the outbox item, so a reload resumes the same upload.
async function sealedFileFields(item) {
  const attachment = item.attachment;
  const crypto = await import('/crypto/media.js');
  if (!attachment.sealed) {
    const prepared = await prepareFile(attachment.blob, attachment.mime, { asFile: Boolean(attachment.asFile) });
    const sealed = await crypto.sealFile(prepared.blob);
    attachment.sealed = { blob: sealed.blob, key: sealed.key, digest: sealed.digest, size: sealed.size, mime: prepared.mime, details: prepared.details };
    attachment.location = null; // an upload in the clear begun before (the chat was plaintext then) is not this one
    attachment.file_id = null;
    await db.outboxAdd(item);
  }
  const fileId = await uploadAttachment(item);
  const { sealed } = attachment;
  const described = crypto.attachmentFields(fileId, sealed, attachment.name, sealed.mime, sealed.details);
  const inner = mediaInner(item.text, described, { replyTo: item.reply_to });
  if (item.album) inner.album = item.album;
  if (item.forwarded_from) inner.forwarded_from = item.forwarded_from; // a file forwarded, sent again sealed
  const fields = await sealSend(item.to, inner, item.client_id, null);
  if (!fields?.envelope) throw new SendBlocked('keys_rejected', item.to); // never a sealed file without its envelope
  return { to: item.to, client_id: item.client_id, envelope: fields.envelope, file_id: fileId };
}

// true when done with (sent, or failed for good), false to try again later, 'blocked' to hold the chat.
async function sendOne(item) {
  try {
    const sealedFile = item.attachment && !item.forward_of && (await willSeal(item.to));
    const fields = sealedFile ? await sealedFileFields(item) : await wireFields(item);
    if (item.attachment && !sealedFile) fields.file_id = await uploadAttachment(item); // a file goes up first, in its turn
    const message = connection?.socketReady ? (await connection.sendMessage(fields)).message : await api.send(fields);
    await db.outboxRemove(item.client_id);
    upsertMessage(await openMessage(message));
    return true;
  } catch (error) {
    if (error instanceof SendBlocked) return 'blocked';
    if (error.name === 'AbortError') return true; // cancelled: already out of the outbox
    if (!PERMANENT_CODES.has(error.code) && !UPLOAD_REFUSALS.has(error.code)) return false;
    await db.outboxAdd({ ...item, failed: true });
    upsertMessage(pendingMessage({ ...item, failed: true }), { persist: false });
    return true;
  }
}

// A message the server refused for good stays visible until its writer deletes it.
export async function discardFailed(message) {
  await db.outboxRemove(message.client_id);
  removeMessage(message);
}
