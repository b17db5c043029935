// The client's picture of the world: chats, messages per chat, presence and typing,
// kept current by updates and mirrored to IndexedDB for offline use.
import { api } from '/api.js';
import * as db from '/db.js';
import { openMessage, openMessages } from '/e2ee.js';
import { emit } from '/events.js';

export const state = {
  me: null,
  cursor: null,
  chats: new Map(), // peer username -> {peer, last_message, unread_count, updated_at}
  conversations: new Map(), // peer username -> {messages: [], has_more, loaded}
  presence: new Map(), // username -> {online, last_seen}
  typing: new Map(), // username -> timeout handle
  quoted: new Map(), // message id -> a replied-to message not in the loaded pages (null while asked for)
  drafts: new Map(), // peer username -> text being written there
  openPeer: null,
};

const PAGE_FOR_JUMP = 100;
const MAX_PAGES_FOR_JUMP = 20;
// A chat holds at most this many sent messages in memory (and so on the page): a window on its
// history that moves by pages as you scroll, so a chat of any length stays as light as a short one.
export const WINDOW = 200;
export const PAGE = 50;
const CONTEXT_BEFORE = 25;

let cursorSaveTimer = null;

export async function loadFromCache(me) {
  state.me = me;
  await db.openDb(me.username);
  state.cursor = (await db.kvGet('cursor')) ?? null;
  for (const chat of await db.getChats()) state.chats.set(chat.peer.username, chat);
  for (const [key, text] of await db.kvWithPrefix('draft:')) if (text) state.drafts.set(key.slice(6), text);
  emit('chats');
}

export function resetState() {
  state.me = null;
  state.cursor = null;
  state.chats.clear();
  state.conversations.clear();
  state.presence.clear();
  state.quoted.clear();
  state.drafts.clear();
  state.openPeer = null;
}

// Saved Messages (the chat with yourself) on top, then pinned chats (the newest pin first), then the most recent.
export function sortedChats() {
  const rank = (chat) => (chat.peer.username === state.me?.username ? 2 : chat.pinned ? 1 : 0);
  return [...state.chats.values()].sort(
    (a, b) => rank(b) - rank(a) || (b.pinned_at ?? '').localeCompare(a.pinned_at ?? '') || (b.updated_at ?? '').localeCompare(a.updated_at ?? ''),
  );
}

// A chat's own settings as the server answered them (pinned, muted_until, archived, marked_unread).
export function applyChatSettings(peer, settings) {
  const chat = state.chats.get(peer);
  if (chat) saveChat({ ...chat, ...settings });
}

export function peerOf(message) {
  return message.sender === state.me.username ? message.recipient : message.sender;
}

export function isMine(message) {
  return message.sender === state.me.username;
}

// Servers that tell who a message was forwarded from also delete for one side only (one release).
export function canHideForMe(message) {
  return message.id != null && 'forwarded_from' in message;
}

export function advanceCursor(seq) {
  if (seq == null || (state.cursor != null && seq <= state.cursor)) return;
  setCursor(seq);
}

export function setCursor(seq) {
  state.cursor = seq;
  clearTimeout(cursorSaveTimer);
  cursorSaveTimer = setTimeout(() => db.kvSet('cursor', state.cursor), 200);
}

// `has_more`: older messages exist beyond the window; `has_newer`: newer ones do (the window
// was moved back in history), and then live messages and pending ones are not in view.
export function conversation(peer) {
  if (!state.conversations.has(peer)) {
    state.conversations.set(peer, { messages: [], has_more: true, has_newer: false, loaded: false });
  }
  return state.conversations.get(peer);
}

// Whether a message not held yet belongs inside the window (and not in a gap beyond its ends).
function fitsWindow(conv, message) {
  if (message.id == null) return true; // pending messages are kept, shown once the window is at the end
  const sent = conv.messages.filter((known) => known.id != null);
  if (conv.has_more && sent.length && message.id < sent[0].id) return false;
  if (conv.has_newer && (!sent.length || message.id > sent.at(-1).id)) return false;
  return true;
}

// Keeps the window at WINDOW sent messages, dropping from the end away from where it grew.
function trimWindow(conv, grewAt) {
  const sentCount = conv.messages.reduce((count, message) => count + (message.id != null), 0);
  const excess = sentCount - WINDOW;
  if (excess <= 0) return;
  const sent = conv.messages.filter((message) => message.id != null);
  const dropped = new Set(grewAt === 'older' ? sent.slice(-excess) : sent.slice(0, excess));
  conv.messages = conv.messages.filter((message) => !dropped.has(message));
  if (grewAt === 'older') conv.has_newer = true;
  else conv.has_more = true;
}

// The messages the chat shows: the window, and pending ones when it reaches the newest.
export function shownMessages(peer) {
  const conv = conversation(peer);
  return conv.has_newer ? conv.messages.filter((message) => message.id != null) : conv.messages;
}

function sameMessage(a, b) {
  if (a.id != null && b.id != null) return a.id === b.id;
  return a.sender === b.sender && a.client_id === b.client_id;
}

function compareMessages(a, b) {
  if (a.id == null || b.id == null) return (a.id == null) - (b.id == null) || (a.queued ?? 0) - (b.queued ?? 0);
  return a.id - b.id;
}

const STATUS_RANK = { failed: 0, pending: 0, sent: 1, delivered: 2, read: 3 };

// A message's status only moves forward, whatever order the frames telling it arrive in.
function laterStatus(known, incoming, message, peer) {
  const readUpTo = state.chats.get(peer)?.peer_read_up_to ?? 0;
  if (isMine(message) && message.id != null && message.id <= readUpTo) return 'read';
  if (!known) return incoming;
  return (STATUS_RANK[incoming] ?? 0) >= (STATUS_RANK[known] ?? 0) ? incoming : known;
}

// Inserts or replaces one message (matched by id, or by client_id for a pending one of mine).
export function upsertMessage(message, { persist = true, notify = true } = {}) {
  const peer = peerOf(message);
  const conv = conversation(peer);
  const index = conv.messages.findIndex((known) => sameMessage(known, message));
  const known = index >= 0 ? conv.messages[index] : null;
  message = { ...message, status: laterStatus(known?.id != null ? known.status : null, message.status, message, peer) };
  if (known) conv.messages[index] = { ...known, ...message };
  else if (fitsWindow(conv, message)) conv.messages.push(message);
  if (!known || known.id !== message.id) conv.messages.sort(compareMessages);
  if (persist && message.id != null) db.putMessages(peer, [message]);
  touchChat(peer, message);
  if (notify) emit('messages', peer);
  return peer;
}

function touchChat(peer, message) {
  const chat = state.chats.get(peer) ?? newChat(peer);
  const last = chat.last_message;
  if (last && sameMessage(last, message)) chat.last_message = { ...last, ...message };
  else if (!last || isLater(message, last)) chat.last_message = message;
  else return;
  chat.updated_at = chat.last_message.created_at;
  saveChat(chat);
}

// A pending message (no id yet) is the newest of its chat until the server says otherwise.
function isLater(message, than) {
  if (message.id != null && than.id != null) return message.id > than.id;
  if (message.id == null) return true;
  return message.created_at >= than.created_at;
}

function newChat(peer) {
  const chat = { peer: { username: peer, display_name: peer }, last_message: null, unread_count: 0, updated_at: '' };
  state.chats.set(peer, chat);
  api.user(peer).then((user) => {
    chat.peer = { ...chat.peer, ...user };
    saveChat(chat);
  }, () => {});
  return chat;
}

export function ensureChat(user) {
  const chat = state.chats.get(user.username) ?? newChat(user.username);
  chat.peer = { ...chat.peer, ...user };
  return chat;
}

function saveChat(chat) {
  state.chats.set(chat.peer.username, chat);
  db.putChats([chat]);
  emit('chats');
}

export async function refreshChats() {
  const answer = await api.conversations();
  for (const chat of answer.conversations) if (chat.last_message) chat.last_message = await openMessage(chat.last_message);
  for (const chat of answer.conversations) {
    const known = state.chats.get(chat.peer.username);
    // A message that arrived live while the list was on its way is newer than the list.
    if (known?.last_message?.id != null && known.last_message.id > (chat.last_message?.id ?? 0)) {
      known.peer = { ...known.peer, ...chat.peer };
      state.presence.set(chat.peer.username, { online: chat.peer.online, last_seen: chat.peer.last_seen });
      continue;
    }
    const pending = known?.last_message?.id == null ? known?.last_message : null;
    chat.peer_read_up_to = known?.peer_read_up_to ?? 0;
    state.chats.set(chat.peer.username, pending ? { ...chat, last_message: pending, updated_at: pending.created_at } : chat);
    state.presence.set(chat.peer.username, { online: chat.peer.online, last_seen: chat.peer.last_seen });
  }
  db.putChats(answer.conversations);
  emit('chats');
  emit('presence');
  return answer.conversations.map((chat) => chat.last_message).filter(Boolean);
}

// A page of history with its envelopes opened on this device.
async function openPage(page) {
  return { ...page, messages: await openMessages(page.messages) };
}

// Shows the cached page first, then the newest page from the server. A window moved back in
// history stays where it is (scrolling down brings the newer pages).
export async function loadConversation(peer) {
  const conv = conversation(peer);
  if (conv.has_newer) return [];
  if (!conv.loaded) {
    for (const message of await db.getRecentMessages(peer)) upsertMessage(message, { persist: false, notify: false });
    emit('messages', peer);
  }
  try {
    const page = await openPage(await api.messages(peer, { limit: PAGE }));
    if (conv.has_newer) return [];
    db.putMessages(peer, page.messages);
    const oldest = page.messages[0]?.id;
    // Messages held from before a gap the page does not close (a cache from long ago) are dropped.
    if (page.has_more && oldest != null) conv.messages = conv.messages.filter((message) => message.id == null || message.id >= oldest);
    page.messages.forEach((message) => upsertMessage(message, { persist: false, notify: false }));
    if (!conv.loaded || page.has_more) conv.has_more = page.has_more;
    trimWindow(conv, 'newer');
    conv.loaded = true;
    emit('messages', peer);
    return page.messages;
  } catch (error) {
    if (!error.isNetwork) throw error;
    return [];
  }
}

// Paging a chat's window: which way, where it is waiting, whether more is there, what to ask.
const PAGING = {
  older: {
    loading: 'loadingOlder',
    more: 'has_more',
    query: (conv) => ({ before: conv.messages.find((message) => message.id != null)?.id }),
  },
  newer: {
    loading: 'loadingNewer',
    more: 'has_newer',
    query: (conv) => ({ after: conv.messages.findLast((message) => message.id != null)?.id ?? 0 }),
  },
};

async function loadPage(peer, direction, limit) {
  const { loading: waiting, more, query } = PAGING[direction];
  const conv = conversation(peer);
  while (conv[waiting]) await conv[waiting];
  if (!conv[more]) return false;
  const loading = api.messages(peer, { ...query(conv), limit }).then(openPage);
  conv[waiting] = loading.catch(() => {});
  try {
    const page = await loading;
    db.putMessages(peer, page.messages);
    conv[more] = false; // lets the page in; set again below when more remain
    page.messages.forEach((message) => upsertMessage(message, { persist: false, notify: false }));
    conv[more] = page.has_more;
    trimWindow(conv, direction);
    emit('messages', peer);
    return page.messages.length > 0;
  } finally {
    conv[waiting] = null;
  }
}

// One page older than the oldest loaded message; a second call while one runs waits for it first.
export function loadOlder(peer, limit = 50) {
  return loadPage(peer, 'older', limit);
}

// One page newer than the newest message of a window moved back in history.
export function loadNewer(peer, limit = PAGE) {
  return loadPage(peer, 'newer', limit);
}

// Moves the window to the messages around `id` (a few older, a page newer): opening at the first
// unread of a long chat, or jumping to a quoted message or a search hit far back.
export async function loadAround(peer, id) {
  const conv = conversation(peer);
  const [older, newer] = await Promise.all([
    api.messages(peer, { before: id + 1, limit: CONTEXT_BEFORE }),
    api.messages(peer, { after: id, limit: PAGE }),
  ]);
  older.messages = await openMessages(older.messages);
  newer.messages = await openMessages(newer.messages);
  const page = [...older.messages, ...newer.messages];
  db.putMessages(peer, page);
  conv.messages = conv.messages.filter((message) => message.id == null);
  conv.has_more = older.has_more;
  conv.has_newer = false;
  page.forEach((message) => upsertMessage(message, { persist: false, notify: false }));
  conv.has_newer = newer.has_more;
  conv.loaded = true;
  emit('messages', peer);
  return page;
}

// Back to the newest messages, wherever the window was: a message being written goes at the end.
export function showLatest(peer) {
  const conv = conversation(peer);
  if (!conv.has_newer) return null;
  conv.messages = conv.messages.filter((message) => message.id == null);
  conv.has_newer = false;
  conv.has_more = true;
  conv.loaded = false;
  emit('messages', peer);
  return loadConversation(peer);
}

// Applies one update from the stream; updates at or below the cursor were handled already.
export function applyUpdate(update) {
  if (update.seq != null && state.cursor != null && update.seq <= state.cursor) return null;
  let effect = null;
  if (update.type === 'message') effect = receiveMessage(update.message);
  else if (update.type === 'status' || update.type === 'edit' || update.type === 'delete' || update.type === 'reaction') upsertMessage(update.message);
  else if (update.type === 'pin') {
    upsertMessage(update.message);
    pinChanged(peerOf(update.message));
  }
  else if (update.type === 'read') applyRead(update);
  else if (update.type === 'hide') hideMessage(update.message_id);
  else if (update.type === 'clear') clearChat(update.peer, update.up_to);
  advanceCursor(update.seq);
  return effect;
}

function receiveMessage(message) {
  const peer = peerOf(message);
  const chat = state.chats.get(peer);
  const known = chat?.last_message?.id != null && message.id <= chat.last_message.id;
  upsertMessage(message);
  if (isMine(message)) return null;
  stopTyping(peer);
  const current = state.chats.get(peer);
  if (!known && message.status !== 'read') {
    if (!current.unread_count) current.first_unread_id = message.id;
    current.unread_count = (current.unread_count ?? 0) + 1;
    saveChat(current);
  }
  return { delivered: message.status === 'sent' ? message.id : null, incoming: !known && message.status !== 'read' ? message : null };
}

function applyRead({ peer, reader, up_to }) {
  const readerIsMe = reader === state.me.username;
  const chatPeer = readerIsMe ? peer : reader;
  const conv = conversation(chatPeer);
  const changed = [];
  for (const message of conv.messages) {
    if (message.id == null || message.id > up_to || message.status === 'read') continue;
    if (isMine(message) === readerIsMe) continue;
    message.status = 'read';
    changed.push(message);
  }
  if (changed.length) db.putMessages(chatPeer, changed);
  const chat = state.chats.get(chatPeer);
  if (chat) {
    if (readerIsMe) {
      chat.unread_count = unreadAfter(chat, up_to, changed.length);
      chat.first_unread_id = chat.unread_count ? Math.max(chat.first_unread_id ?? 0, up_to + 1) : null;
    }
    else chat.peer_read_up_to = Math.max(chat.peer_read_up_to ?? 0, up_to);
    if (!readerIsMe && chat.last_message?.id != null && chat.last_message.id <= up_to && isMine(chat.last_message)) {
      chat.last_message = { ...chat.last_message, status: 'read' };
    }
    saveChat(chat);
  }
  emit('messages', chatPeer);
}

// What is left unread once everything up to `upTo` is read: nothing when the newest message is
// covered, else the old count less what was just marked (the server's count corrects it later).
function unreadAfter(chat, upTo, justRead) {
  const last = chat.last_message;
  if (last?.id != null && last.id <= upTo) return 0;
  return Math.max(0, (chat.unread_count ?? 0) - justRead);
}

// Marks the peer's messages up to `upTo` (ones this device showed) as read, locally at once.
export function readUpTo(peer, upTo) {
  applyRead({ peer, reader: state.me.username, up_to: upTo });
}

export function unreadMessages(peer) {
  return conversation(peer).messages.filter((message) => message.id != null && !isMine(message) && message.status !== 'read');
}

// Loads older pages until the oldest unread message of the peer is in memory, so the chat opens there.
export async function loadUntilFirstUnread(peer) {
  const conv = conversation(peer);
  for (let page = 0; page < MAX_PAGES_FOR_JUMP && conv.has_more; page++) {
    const oldestTheirs = conv.messages.find((message) => message.id != null && !isMine(message));
    if (oldestTheirs?.status === 'read') return;
    const unread = state.chats.get(peer)?.unread_count ?? 0;
    if (unread && unreadMessages(peer).length >= unread) return;
    if (!(await loadOlder(peer, PAGE_FOR_JUMP))) return;
  }
}

// Loads older pages until the message `id` is in memory; the pages in between come too, so it has context.
export async function loadUntilMessage(peer, id) {
  const conv = conversation(peer);
  if (conv.messages.some((message) => message.id === id)) return true;
  const oldest = conv.messages.find((message) => message.id != null);
  if (conv.has_newer || (oldest && id < oldest.id - PAGE_FOR_JUMP * 2)) {
    await loadAround(peer, id);
    return conv.messages.some((message) => message.id === id);
  }
  for (let page = 0; page < MAX_PAGES_FOR_JUMP; page++) {
    if (conv.messages.some((message) => message.id === id)) return true;
    const oldest = conv.messages.find((message) => message.id != null);
    if (oldest && oldest.id < id) return false;
    if (!(await loadOlder(peer, PAGE_FOR_JUMP))) return false;
  }
  return conv.messages.some((message) => message.id === id);
}

// A replied-to message that is not loaded: asked for once (the newest message of the chat up to its id).
export function quotedMessage(peer, id) {
  const loaded = conversation(peer).messages.find((message) => message.id === id);
  if (loaded) return loaded;
  if (state.quoted.has(id)) return state.quoted.get(id);
  state.quoted.set(id, null);
  api.messages(peer, { before: id + 1, limit: 1 }).then(openPage).then(
    (page) => {
      const found = page.messages.find((message) => message.id === id);
      state.quoted.set(id, found ?? { id, missing: true });
      emit('messages', peer);
    },
    () => state.quoted.delete(id),
  );
  return null;
}

// What is being written in a chat, kept until sent or erased (the chat list shows it).
export function setDraft(peer, text) {
  if ((state.drafts.get(peer) ?? '') === text) return;
  if (text) state.drafts.set(peer, text);
  else state.drafts.delete(peer);
  db.kvSet(`draft:${peer}`, text);
  emit('chats');
}

// A `profile` frame: someone this user chats with changed their name, bio or picture.
export function updatePeer(user) {
  const chat = state.chats.get(user.username);
  if (!chat) return;
  chat.peer = { ...chat.peer, ...user };
  saveChat(chat);
}

export function setPresence(frame) {
  state.presence.set(frame.user, { online: frame.online, last_seen: frame.last_seen });
  emit('presence', frame.user);
}

// Cut off from the server: nobody can be shown as online now (the next chat list says again).
export function forgetLivePresence() {
  for (const [username, presence] of state.presence) if (presence.online) state.presence.delete(username);
  emit('presence');
}

export function startTyping(peer) {
  clearTimeout(state.typing.get(peer));
  state.typing.set(peer, setTimeout(() => stopTyping(peer), 6000));
  emit('typing', peer);
}

function stopTyping(peer) {
  if (!state.typing.has(peer)) return;
  clearTimeout(state.typing.get(peer));
  state.typing.delete(peer);
  emit('typing', peer);
}

// Deleted for me (on any of my devices): gone from this device's view and cache.
export function hideMessage(id) {
  db.deleteMessage(id);
  for (const [peer, conv] of state.conversations) {
    const before = conv.messages.length;
    conv.messages = conv.messages.filter((message) => message.id !== id);
    if (conv.messages.length !== before) emit('messages', peer);
  }
  for (const chat of state.chats.values()) {
    if (chat.last_message?.id !== id) continue;
    const conv = state.conversations.get(chat.peer.username);
    chat.last_message = conv?.messages.findLast((message) => message.id != null) ?? null;
    saveChat(chat);
  }
}

// Cleared for me (on any of my devices): the chat's messages up to `upTo` are gone from this device.
export function clearChat(peer, upTo) {
  const conv = state.conversations.get(peer);
  const cleared = (message) => message.id != null && message.id <= upTo;
  if (conv) {
    conv.messages.filter(cleared).forEach((message) => db.deleteMessage(message.id));
    conv.messages = conv.messages.filter((message) => !cleared(message));
    emit('messages', peer);
  }
  const chat = state.chats.get(peer);
  if (chat?.last_message && cleared(chat.last_message)) {
    chat.last_message = conv?.messages.findLast((message) => message.id != null) ?? null;
    chat.unread_count = 0;
    saveChat(chat);
  }
}

export function removeMessage(message) {
  const peer = peerOf(message);
  const conv = conversation(peer);
  conv.messages = conv.messages.filter((known) => !sameMessage(known, message));
  emit('messages', peer);
}

export function findMessage(peer, key) {
  return conversation(peer).messages.find((message) => messageKey(message) === key);
}

// Stable from the moment a message is written until it is deleted, across its ack.
export function messageKey(message) {
  return message.client_id ? `${message.sender}:${message.client_id}` : `m${message.id}`;
}

// ---- pinned messages -----------------------------------------------------------------------------

const pinned = new Map(); // peer username -> the chat's pinned messages (opened), the newest pin first

export function pinnedOf(peer) {
  return pinned.get(peer) ?? [];
}

export async function loadPins(peer) {
  const answer = await api.pins(peer);
  pinned.set(peer, await openMessages(answer.messages));
  emit('pins', peer);
}

// A pin or unpin in the chat (this device's or a `pin` update): the list is read again.
export function pinChanged(peer) {
  loadPins(peer).catch(() => {});
}

// After history came (a restored backup): every message shown as "could not be decrypted" is
// opened again, and the chat list with it.
export async function reopenFailed() {
  for (const [peer, conv] of state.conversations) {
    const failed = conv.messages.filter((message) => message.e2ee === 'failed');
    for (const message of failed) upsertMessage(await openMessage(message), { notify: false });
    if (failed.length) emit('messages', peer);
  }
  await refreshChats().catch(() => {});
}
