// Search over what this device holds: the server never sees the text of an end-to-end encrypted
// message, so those are found in the opened copies in IndexedDB. Letters fold as the server's
// search folds them (store/folding.py), so either spelling of a Persian word finds the other.
import * as db from '/db.js';

const SAME_LETTER = { 'ي': 'ی', 'ى': 'ی', 'ك': 'ک', 'ة': 'ه', 'ۀ': 'ه', 'أ': 'ا', 'إ': 'ا', 'آ': 'ا', 'ٱ': 'ا' };
const IGNORED = /[\u200c-\u200f\u0640\u0670\u064b-\u065f]/g;

export function fold(text) {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(IGNORED, '')
    .replace(/[\u06f0-\u06f9]/g, (digit) => String(digit.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (digit) => String(digit.charCodeAt(0) - 0x0660))
    .replace(/[يىكةۀأإآٱ]/g, (letter) => SAME_LETTER[letter]);
}

const words = (text) => fold(text).match(/[\p{L}\p{N}]+/gu) ?? [];

// Encrypted messages held here whose words start with every word asked (newest first), older
// than `before` when given.
export async function searchSealed(query, { peer = null, before = null, limit = 50 } = {}) {
  const wanted = words(query);
  if (!wanted.length) return [];
  const held = await db.allMessages(peer);
  const found = held.filter((message) => {
    if (!message.envelope || message.deleted || message.e2ee !== 'opened' || !message.text) return false;
    if (before != null && message.id >= before) return false;
    const have = words(message.text);
    return wanted.every((word) => have.some((each) => each.startsWith(word)));
  });
  return found.sort((a, b) => b.id - a.id).slice(0, limit);
}

// A page of server hits and sealed ones found here, newest first, no message twice, at most
// `limit`: {messages, has_more}.
export function mergeHits(answer, sealed, limit = Infinity) {
  const seen = new Set(answer.messages.map((message) => message.id));
  const all = [...answer.messages, ...sealed.filter((message) => !seen.has(message.id))].sort((a, b) => b.id - a.id);
  return { messages: all.slice(0, limit), has_more: answer.has_more || all.length > limit };
}
