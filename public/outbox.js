// Messages waiting to be sent: kept in IndexedDB with their client_id, sent one at a time
// in the order they were written. The server dedupes by client_id, so a retry is always safe.
import { api } from '/api.js';
import { localAttachment, UPLOAD_REFUSALS, uploadAttachment } from '/attachments.js';
import * as db from '/db.js';
import { removeMessage, state, upsertMessage } from '/model.js';

const RETRY_AFTER = 3000;
const PERMANENT_CODES = new Set(['invalid_input', 'user_not_found', 'not_found', 'forbidden', 'payload_too_large', 'bad_request', 'message_not_found', 'message_deleted']);

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
  };
}

export async function restoreOutbox() {
  for (const item of await db.outboxAll()) upsertMessage(pendingMessage(item), { persist: false });
}

// `forward` ({of: message id, from: its first author}) makes the message a forward of another.
export async function queueMessage(to, text, replyTo = null, attachment = null, forward = null) {
  lastQueued = Math.max(Date.now(), lastQueued + 1);
  const item = {
    client_id: newClientId(),
    to,
    text,
    reply_to: replyTo,
    forward_of: forward?.of ?? null,
    forwarded_from: forward?.from ?? null,
    queued: lastQueued,
    created_at: new Date().toISOString(),
    attachment,
  };
  upsertMessage(pendingMessage(item), { persist: false });
  await db.outboxAdd(item);
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
      for (const item of await db.outboxAll()) {
        if (item.failed) continue;
        if (!(await sendOne(item))) {
          retryTimer = setTimeout(flushOutbox, RETRY_AFTER);
          return;
        }
      }
    } while (flushAgain);
  } finally {
    flushing = false;
  }
}

async function sendOne(item) {
  const fields = { to: item.to, text: item.text, client_id: item.client_id, reply_to: item.reply_to };
  if (item.forward_of) {
    // The server copies what is forwarded (text and any file) from the original.
    fields.forward_of = item.forward_of;
    delete fields.text;
  }
  try {
    if (item.attachment) fields.file_id = await uploadAttachment(item); // a file goes up first, in its turn
    const message = connection?.socketReady ? (await connection.sendMessage(fields)).message : await api.send(fields);
    await db.outboxRemove(item.client_id);
    upsertMessage(message);
    return true;
  } catch (error) {
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
