// Files waiting in the outbox: each upload runs when its message's turn comes, keeps its tus
// address in IndexedDB next to its Blob, and so resumes from the server's offset after a cut
// network or a reload. Progress is told through the event hub ('upload-progress', client id).
import * as db from '/db.js';
import { emit } from '/events.js';
import { removeMessage } from '/model.js';
import { cancelUpload, uploadBlob } from '/upload.js';

// Refusals that no retry changes: the message is marked failed.
export const UPLOAD_REFUSALS = new Set(['unsupported_type', 'file_too_large', 'quota_exceeded', 'image_too_large', 'bad_image', 'bad_audio', 'empty_file', 'file_not_found', 'beyond_length']);

const running = new Map(); // client id -> {controller, sent, total}

// `sealed` is filled when the chat is end to end encrypted: the cleaned, sealed copy that goes up
// ({blob, key, digest, size, mime, details}), kept here so a reload resumes the same upload.
// `asFile`: a photo the sender chose to send as a file (full size, shown as a file).
export function newAttachment(blob, name, { asFile = false } = {}) {
  return { blob, name: name || 'file', mime: blob.type || 'application/octet-stream', size: blob.size, location: null, file_id: null, sealed: null, asFile };
}

// What a bubble shows for a message still in the outbox.
export function localAttachment(item) {
  const attachment = item.attachment;
  if (!attachment) return null;
  return { local: true, client_id: item.client_id, blob: attachment.blob, name: attachment.name, mime: attachment.mime, size: attachment.size };
}

export function uploadProgress(clientId) {
  return running.get(clientId) ?? null;
}

// Uploads (or resumes) the item's file; its file id. Throws on a cut network (the outbox retries).
export async function uploadAttachment(item) {
  const attachment = item.attachment;
  if (attachment.file_id) return attachment.file_id;
  // A file of an encrypted chat goes up as its ciphertext, under the name every sealed upload has.
  const sealed = attachment.sealed ?? null;
  const blob = sealed ? sealed.blob : attachment.blob;
  const progress = { controller: new AbortController(), sent: 0, total: blob.size };
  running.set(item.client_id, progress);
  try {
    attachment.file_id = await uploadBlob({
      blob,
      name: sealed ? 'file' : attachment.name,
      encrypted: Boolean(sealed),
      location: attachment.location,
      signal: progress.controller.signal,
      onLocation: (location) => {
        attachment.location = location;
        return db.outboxAdd(item);
      },
      onProgress: (sent, total) => {
        progress.sent = sent;
        progress.total = total;
        emit('upload-progress', item.client_id);
      },
    });
    await db.outboxAdd(item);
    return attachment.file_id;
  } finally {
    running.delete(item.client_id);
  }
}

// The sender gave up on a file still in the outbox: stop it, forget it, tell the server.
export async function cancelAttachment(message) {
  const item = (await db.outboxAll()).find((queued) => queued.client_id === message.client_id);
  running.get(message.client_id)?.controller.abort();
  await db.outboxRemove(message.client_id);
  removeMessage(message);
  if (item?.attachment?.location && !item.attachment.file_id) await cancelUpload(item.attachment.location);
}
