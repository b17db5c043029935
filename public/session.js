// A logged-in session: wires the connection, the model and the outbox together,
// renews the token and offers the actions the screens need.
import { api, currentSession, forgetSession, onUnauthorized, refreshToken, saveSession, tokenNeedsRefresh, updateSessionUser } from '/api.js';
import * as db from '/db.js';
import * as e2ee from '/e2ee.js';
import { emit } from '/events.js';
import * as model from '/model.js';
import * as outbox from '/outbox.js';
import { forgetPush, playSound, renewPush, showDesktopNotification } from '/notify.js';
import { attachCalls, handleCallFrame, resumeCalls } from '/call.js';
import { Connection } from '/socket.js';

const TYPING_EVERY = 3000;
const REFRESH_CHECK_EVERY = 5 * 60 * 1000;

export let connection = null;
let turns = Promise.resolve();

// What the connection hands over is handled in the order it came, each envelope opened first.
function inTurn(work) {
  turns = turns.then(work).catch(() => {});
  return turns;
}
let deliveredIds = [];
let deliveredTimer = null;
let refreshTimer = null;
const reportedRead = new Map();
const lastTypingSent = new Map();

export async function startSession() {
  await model.loadFromCache(currentSession().user);
  e2ee.setUpDevice(currentSession().user);
  await e2ee.untilFirstKeys();
  await outbox.restoreOutbox();
  connection = new Connection({
    token: () => currentSession()?.token,
    cursor: () => model.state.cursor,
    onUpdate: (update) => inTurn(async () => handleUpdate(await e2ee.openUpdate(update))),
    onFrame: (frame) => inTurn(() => handleFrame(frame)),
    onReady: (frame) => inTurn(() => handleReady(frame)),
    onPollCursor: (cursor) => inTurn(() => model.advanceCursor(cursor)),
    onState: handleConnectionState,
    onAuthError: handleAuthError,
  });
  outbox.attachConnection(connection);
  attachCalls(connection);
  onUnauthorized(() => logout());
  window.addEventListener('online', outbox.flushOutbox);
  connection.start();
  document.addEventListener('visibilitychange', tellViewing);
  renewPush();
  renewTokenIfDue();
  refreshTimer = setInterval(renewTokenIfDue, REFRESH_CHECK_EVERY);
  emit('connection', connection.state);
}

function handleConnectionState(connectionState) {
  emit('connection', connectionState);
  if (connection.isLive) outbox.flushOutbox();
  else model.forgetLivePresence();
}

function handleReady(frame) {
  if (e2ee.device.status === 'unavailable') e2ee.setUpDevice(currentSession().user).then(() => outbox.flushOutbox());
  if (frame.user) updateProfile(frame.user); // changed on another device while this one was away
  const cursor = model.state.cursor;
  if (cursor == null || frame.cursor < cursor) model.setCursor(frame.cursor);
  lastViewing = undefined;
  tellViewing();
  // A read report sent just before the connection dropped may be lost: saying it again is harmless.
  for (const [peer, upTo] of reportedRead) connection.sendFrame({ type: 'read', peer, up_to: upTo });
  model.refreshChats().then(acknowledgeLoaded, () => {});
  const peer = model.state.openPeer;
  if (peer) model.loadConversation(peer).then(acknowledgeLoaded).catch(() => {});
  outbox.flushOutbox();
  resumeCalls();
}

// Messages that reached this device through a page of history also count as delivered.
export function acknowledgeLoaded(messages) {
  for (const message of messages) {
    if (!model.isMine(message) && message.status === 'sent' && message.id != null) acknowledgeDelivery(message.id);
  }
}

function handleUpdate(update) {
  const effect = model.applyUpdate(update);
  if (effect?.delivered) acknowledgeDelivery(effect.delivered);
  if (effect?.incoming) announce(effect.incoming);
  // Read on another device: the unread counts come from the server, which knows them all.
  if (update.type === 'read' && update.reader === model.state.me?.username) refreshChatsSoon();
  if (update.type === 'chat_settings') refreshChatsSoon(); // pinned, muted, archived or marked unread elsewhere
}

const FRESH = 60 * 1000;

// A new message not on screen: a sound in the app, and a desktop notification while the tab is hidden.
function announce(message) {
  if (Date.now() - Date.parse(message.created_at) > FRESH) return; // caught up after a while away
  const peer = model.peerOf(message);
  emit('incoming', message); // the in-app banner and the offer of notifications listen
  const hidden = document.visibilityState !== 'visible';
  if (!hidden && model.state.openPeer === peer) return;
  playSound();
  if (!hidden) return;
  const sender = model.state.chats.get(peer)?.peer ?? { username: peer };
  showDesktopNotification({ chat: peer, sender, text: message.text }).catch(() => {});
}

let lastViewing;

// The server sends no push for the chat a device of this user shows while visible.
export function tellViewing() {
  const peer = document.visibilityState === 'visible' ? model.state.openPeer : null;
  if (peer === lastViewing) return;
  if (connection?.sendFrame({ type: 'viewing', peer })) lastViewing = peer;
}

let refreshChatsTimer = null;

function refreshChatsSoon() {
  clearTimeout(refreshChatsTimer);
  refreshChatsTimer = setTimeout(() => model.refreshChats().catch(() => {}), 500);
}

function acknowledgeDelivery(id) {
  deliveredIds.push(id);
  clearTimeout(deliveredTimer);
  deliveredTimer = setTimeout(() => {
    const ids = [...new Set(deliveredIds)];
    deliveredIds = [];
    connection?.sendFrame({ type: 'delivered', ids });
  }, 50);
}

function handleFrame(frame) {
  if (frame.type === 'call') handleCallFrame(frame).catch(() => {});
  else if (frame.type === 'typing') model.startTyping(frame.from);
  else if (frame.type === 'presence') model.setPresence(frame);
  else if (frame.type === 'profile' && frame.user?.username) updateProfile(frame.user);
  else if (frame.type === 'keys' && frame.user) keysChanged(frame.user);
  else if (frame.type === 'link' && frame.id) emit('link-request', frame); // ui/shell.js says so
}

// Someone's device list changed: checked again now (a new device, a new identity key).
function keysChanged(username) {
  e2ee.keysChanged(username).catch(() => {});
}

// Someone I chat with changed their name, bio or picture; or I did, on another device.
function updateProfile(user) {
  if (user.username !== model.state.me?.username) return model.updatePeer(user);
  updateSessionUser(user);
  model.state.me = { ...model.state.me, ...user };
  emit('me');
}

async function handleAuthError(code) {
  if (code === 4003) return logout();
  try {
    await refreshToken();
    connection.reconnectNow();
  } catch (error) {
    if (error.status === 401) return logout();
    setTimeout(() => connection?.reconnectNow(), 5000);
  }
}

async function renewTokenIfDue() {
  if (!tokenNeedsRefresh() || !navigator.onLine) return;
  await refreshToken().catch(() => {});
}

// Tells the server the peer's messages up to `upTo` were seen on this device (once per id).
export function reportRead(peer, upTo) {
  if (document.visibilityState !== 'visible' || model.state.openPeer !== peer || upTo == null) return;
  if ((reportedRead.get(peer) ?? 0) >= upTo) return;
  model.readUpTo(peer, upTo);
  reportedRead.set(peer, upTo);
  if (connection?.sendFrame({ type: 'read', peer, up_to: upTo })) return;
  api.markRead(peer, upTo).catch(() => reportedRead.delete(peer));
}

export function sendTyping(peer) {
  const now = Date.now();
  if (now - (lastTypingSent.get(peer) ?? 0) < TYPING_EVERY) return;
  if (connection?.sendFrame({ type: 'typing', to: peer })) lastTypingSent.set(peer, now);
}

// An edit is sealed like a send where the chat is encrypted (with the message's own client_id).
export async function editMessage(message, text) {
  const peer = model.peerOf(message);
  // The link preview stays while its link does (the same check a reader makes).
  const preview = e2ee.previewOf(message.preview, text);
  const inner = e2ee.textInner(text, { edit: true, replyTo: message.reply_to, forwardedFrom: message.forwarded_from, preview });
  const fields = await e2ee.sealSend(peer, inner, message.client_id, { text });
  model.upsertMessage(await e2ee.openMessage(await api.edit(message.id, fields)));
}

export async function deleteMessage(id) {
  model.upsertMessage(await api.remove(id));
}

// Sets, changes or (emoji null) takes back this person's reaction; sealed in an encrypted chat.
export async function react(message, emoji) {
  const peer = model.peerOf(message);
  const answer = emoji ? await api.react(message.id, await e2ee.reactionFields(peer, message.id, emoji)) : await api.unreact(message.id);
  model.upsertMessage(await e2ee.openMessage(answer));
}

export async function pinMessage(message, pinned) {
  const answer = pinned ? await api.pin(message.id) : await api.unpin(message.id);
  model.upsertMessage(await e2ee.openMessage(answer));
  model.pinChanged(model.peerOf(message));
}

export async function hideMessage(message) {
  await api.hide(message.id);
  model.hideMessage(message.id);
}

export async function changePassword(current, next) {
  const answer = await api.changePassword({ current_password: current, new_password: next });
  if (answer?.token) saveSession(answer);
}

export async function saveProfile(fields) {
  const user = await api.updateMe(fields);
  updateSessionUser(user);
  model.state.me = { ...model.state.me, ...user };
  emit('me');
  return user;
}

let loggingOut = false;

export async function logout() {
  if (!currentSession() || loggingOut) return;
  loggingOut = true;
  await forgetPush().catch(() => {});
  api.logout().catch(() => {});
  connection?.stop();
  document.removeEventListener('visibilitychange', tellViewing);
  clearInterval(refreshTimer);
  await db.deleteDb();
  e2ee.forgetDevice();
  forgetSession();
  model.resetState();
  location.replace('/');
}
