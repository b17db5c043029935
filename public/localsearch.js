// Search over what this device holds: the server never sees the text of an end-to-end encrypted
// message, so those are found in this device's own word index (db.js), folded as the server folds
// (folding.js), so either spelling of a Persian word finds the other.
import * as db from '/db.js';
import { words } from '/folding.js';

export { fold } from '/folding.js';

const PAGE = 500;
const SCAN = 2000; // the newest messages are read straight: a common word fills a page there
const SHORT = 3000; // index keys of a prefix below which its index range is read at once

// Encrypted messages held here whose words start with every word asked (newest first), older
// than `before` when given. A word with a short index range is read from the word index; for a
// common one the newest few thousand messages are read and checked one by one first (it is found
// there at once, where its index range would be long), then the index below them.
export async function searchSealed(query, { peer = null, before = null, limit = 50 } = {}) {
  const wanted = words(query);
  if (!wanted.length) return [];
  const matches = (message) => {
    if (!message?.envelope || message.deleted || message.e2ee !== 'opened' || !message.text) return false;
    const have = words(message.text);
    return wanted.every((word) => have.some((each) => each.startsWith(word)));
  };
  const found = [];
  let below = before;
  const longest = wanted.reduce((a, b) => (b.length > a.length ? b : a));
  const common = (await db.countWords(longest)) > SHORT;
  for (let scanned = 0; common && scanned < SCAN; ) {
    const page = await db.newestMessages({ chat: peer, before: below, count: PAGE });
    for (const message of page) {
      if (!matches(message)) continue;
      found.push(message);
      if (found.length >= limit) return found;
    }
    if (page.length < PAGE) return found; // every message held was read
    scanned += page.length;
    below = page[page.length - 1].id;
  }
  for (const id of await db.idsWithWords(wanted, { chat: peer, before: below })) {
    const message = await db.getMessage(id);
    if (!matches(message)) continue;
    found.push(message);
    if (found.length >= limit) break;
  }
  return found;
}

// A page of server hits and sealed ones found here, newest first, no message twice, at most
// `limit`: {messages, has_more}.
export function mergeHits(answer, sealed, limit = Infinity) {
  const seen = new Set(answer.messages.map((message) => message.id));
  const all = [...answer.messages, ...sealed.filter((message) => !seen.has(message.id))].sort((a, b) => b.id - a.id);
  return { messages: all.slice(0, limit), has_more: answer.has_more || all.length > limit };
}
