// Service worker (a module worker): precaches the app shell under a versioned cache (never API
// answers) and shows pushed messages as notifications, one group per chat. A push of a sealed
// message carries ids only: the worker fetches the envelope and opens it with this device's keys
// (the same IndexedDB and locks the pages use), or says "New message" when it cannot.
// Bump VERSION with every deployment so clients pick the new shell up.
import { ApiError } from '/api.js';
import { E2eeClient } from '/crypto/client.js';

const VERSION = 'v22';
const CACHE = `payambar-shell-${VERSION}`;
const SHELL = [
  '/',
  '/index.html',
  '/styles.css',
  '/media.css',
  '/upload.js',
  '/attachments.js',
  '/ui/media.js',
  '/ui/filesend.js',
  '/ui/albums.js',
  '/ui/blurhash.js',
  '/app.js',
  '/call.js',
  '/ringtone.js',
  '/ui/callscreen.js',
  '/ui/callentry.js',
  '/api.js',
  '/db.js',
  '/events.js',
  '/i18n.js',
  '/i18n/fa.js',
  '/i18n/en.js',
  '/model.js',
  '/notify.js',
  '/outbox.js',
  '/e2ee.js',
  '/localsearch.js',
  '/folding.js',
  '/prepare.js',
  '/session.js',
  '/socket.js',
  '/ui/account.js',
  '/ui/actions.js',
  '/ui/auth.js',
  '/ui/bubbles.js',
  '/ui/chatlist.js',
  '/ui/chatmenu.js',
  '/ui/selection.js',
  '/ui/messageinfo.js',
  '/ui/emoji.js',
  '/ui/incoming.js',
  '/ui/notifyprompt.js',
  '/ui/useragent.js',
  '/ui/chatsearch.js',
  '/ui/composer.js',
  '/ui/conversation.js',
  '/ui/dialog.js',
  '/ui/dom.js',
  '/ui/fields.js',
  '/ui/format.js',
  '/ui/gestures.js',
  '/ui/links.js',
  '/ui/linking.js',
  '/ui/peersheet.js',
  '/ui/encryption.js',
  '/ui/blocking.js',
  '/ui/preferences.js',
  '/ui/profile.js',
  '/ui/seen.js',
  '/ui/settings.js',
  '/ui/shell.js',
  '/ui/update.js',
  '/ui/validate.js',
  '/ui/recovery.js',
  '/crypto/backup.js',
  '/crypto/bytes.js',
  '/crypto/client.js',
  '/crypto/device.js',
  '/crypto/envelope.js',
  '/crypto/handshake.js',
  '/crypto/keys.js',
  '/crypto/link.js',
  '/crypto/media.js',
  '/crypto/primitives.js',
  '/crypto/ratchet.js',
  '/crypto/safety.js',
  '/crypto/session.js',
  '/vendor/qr/index.js',
  '/vendor/qr/decode.js',
  '/vendor/noble/curves/abstract/curve.js',
  '/vendor/noble/curves/abstract/edwards.js',
  '/vendor/noble/curves/abstract/fft.js',
  '/vendor/noble/curves/abstract/frost.js',
  '/vendor/noble/curves/abstract/hash-to-curve.js',
  '/vendor/noble/curves/abstract/modular.js',
  '/vendor/noble/curves/abstract/montgomery.js',
  '/vendor/noble/curves/abstract/oprf.js',
  '/vendor/noble/curves/ed25519.js',
  '/vendor/noble/curves/utils.js',
  '/vendor/noble/hashes/_md.js',
  '/vendor/noble/hashes/_u64.js',
  '/vendor/noble/hashes/sha2.js',
  '/vendor/noble/hashes/sha3.js',
  '/vendor/noble/hashes/utils.js',
  '/vendor/noble/post-quantum/_crystals.js',
  '/vendor/noble/post-quantum/ml-kem.js',
  '/vendor/noble/post-quantum/utils.js',
  '/manifest.webmanifest',
  '/fonts/Vazirmatn-Regular.woff2',
  '/fonts/Vazirmatn-Bold.woff2',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-512.png',
];

// The API, the socket and the health check never need the worker: where the browser has static
// routes, their requests go straight to the network without waking it (no start-up delay on a
// slow phone). Elsewhere the fetch handler below lets them pass.
const NETWORK_ONLY = ['/api/*', '/ws', '/health'];

self.addEventListener('install', (event) => {
  if (event.addRoutes && self.URLPattern) {
    const routes = NETWORK_ONLY.map((pathname) => ({ condition: { urlPattern: new URLPattern({ pathname }) }, source: 'network' }));
    event.addRoutes(routes).catch(() => {});
  }
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })))));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name.startsWith('payambar-shell-') && name !== CACHE).map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

// The page's notification settings, and its session, kept for when no page is open.
const PREFS_CACHE = 'payambar-prefs';
const PREFS_URL = '/notification-prefs';
const SESSION_URL = '/session';
const OPEN_TIMEOUT_MS = 10_000;

async function notificationPrefs() {
  const stored = await (await caches.open(PREFS_CACHE)).match(PREFS_URL);
  const prefs = stored ? await stored.json().catch(() => ({})) : {};
  return { preview: true, hiddenText: 'پیام تازه · New message', labels: {}, ...prefs };
}

// {token, user: {id, username}} of the signed-in person, or null.
async function storedSession() {
  const stored = await (await caches.open(PREFS_CACHE)).match(SESSION_URL);
  const session = stored ? await stored.json().catch(() => null) : null;
  return session?.token && Number.isSafeInteger(session.user?.id) && session.user.username ? session : null;
}

async function keepSession(session) {
  const cache = await caches.open(PREFS_CACHE);
  if (!session?.token) await cache.delete(SESSION_URL);
  else await cache.put(SESSION_URL, new Response(JSON.stringify({ token: session.token, user: { id: session.user.id, username: session.user.username } })));
}

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
  if (event.data?.type === 'notification-prefs') {
    const body = JSON.stringify(event.data.prefs ?? {});
    event.waitUntil(caches.open(PREFS_CACHE).then((cache) => cache.put(PREFS_URL, new Response(body))));
  }
  if (event.data?.type === 'session') event.waitUntil(keepSession(event.data.session));
});

// The API as the signed-in person, for the protocol client (api.js holds no session here).
function requester(session) {
  return async (method, path, body) => {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers: { authorization: `Bearer ${session.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'network', 'offline');
    }
    const answer = response.status === 204 ? null : await response.json().catch(() => null);
    if (response.status === 401) await keepSession(null); // logged out elsewhere: no more opening
    if (!response.ok) throw new ApiError(response.status, answer?.error?.code ?? `http_${response.status}`, answer?.error?.message);
    return answer;
  };
}

// The pushed message as this device reads it, with the protocol client that opens it: {message,
// client}, or null (no session or keys here, the message not reachable).
async function pushedMessage(payload) {
  const session = await storedSession();
  if (!session || !Number.isSafeInteger(payload.message_id)) return null;
  const request = requester(session);
  const page = await request('GET', `/api/conversations/${encodeURIComponent(payload.chat)}/messages?after=${payload.message_id - 1}&limit=1`);
  const message = page?.messages?.find((each) => each.id === payload.message_id);
  if (!message) return null;
  const client = await E2eeClient.open(session.user, { request });
  return (await client.hasDevice()) ? { message, client, me: session.user.username } : null;
}

// What a sealed message says, opened on this device: its text, or a label for a file; null when
// it cannot be opened (no session, no keys here, not for this device, offline).
async function openPushed(payload, labels) {
  const found = await pushedMessage(payload);
  if (!found?.message.envelope || found.message.sender !== payload.chat) return null;
  const read = await found.client.open(found.message);
  if (typeof read.text === 'string' && read.text && read.kind !== 'media') return read.text;
  if (read.kind === 'media') {
    const file = read.inner?.attachment ?? {};
    const kind = file.type === 'photo' || file.type === 'voice' || file.type === 'video' ? file.type : 'file';
    const label = labels[kind] ?? (kind === 'file' ? '📎' : '');
    const caption = typeof read.inner?.text === 'string' ? read.inner.text : '';
    return [label, caption || (kind === 'file' && typeof file.name === 'string' ? file.name : '')].filter(Boolean).join(' ') || null;
  }
  return null;
}

// The emoji of the chat's person's reaction to one of my messages, opened on this device; null
// when it cannot be (no session or keys, not for this device, another message named inside).
async function openPushedReaction(payload) {
  const found = await pushedMessage(payload);
  const message = found?.message;
  const reaction = message?.reactions?.find((each) => each.user === payload.chat && each.envelope);
  if (!reaction || message.sender !== found.me) return null;
  // the same id the app opens it under (e2ee.js openReactions), so either finds it opened
  const read = await found.client.open({ id: `reaction-${message.id}`, sender: reaction.user, recipient: message.sender, client_id: reaction.client_id, envelope: reaction.envelope });
  const fits = read.inner?.kind === 'reaction' && read.inner.target === message.id && typeof read.inner.emoji === 'string';
  return fits && read.inner.emoji && read.inner.emoji.length <= 16 ? read.inner.emoji : null;
}

// A sealed push names ids only: what `open` reads from it (with previews on; else null, as when it
// cannot), and the sender with the name and picture of their public profile, both at most 10 s.
async function openedWithSender(payload, prefs, open) {
  const [opened, profile] = await Promise.all([
    prefs.preview ? withTimeout(open().catch(() => null), OPEN_TIMEOUT_MS) : null,
    withTimeout(profileOf(payload.chat), OPEN_TIMEOUT_MS),
  ]);
  const sender = profile ? { ...payload.sender, display_name: profile.display_name, avatar: profile.avatar } : (payload.sender ?? {});
  return { opened, sender };
}

// "Reacted ❤️ to your message" (or without the emoji when it is sealed and cannot be opened here).
async function showReaction(payload, prefs) {
  let sender = payload.sender ?? {};
  let emoji = typeof payload.emoji === 'string' && payload.emoji.length <= 16 ? payload.emoji : null;
  if (payload.encrypted) ({ opened: emoji, sender } = await openedWithSender(payload, prefs, () => openPushedReaction(payload)));
  if (!prefs.preview) emoji = null;
  const labels = prefs.labels ?? {};
  const body = emoji ? (labels.reacted ?? 'واکنش {emoji} به پیام شما · Reacted {emoji} to your message').replace('{emoji}', emoji) : (labels.reacted_any ?? 'به پیام شما واکنش نشان داد · Reacted to your message');
  await self.registration.showNotification(sender.display_name || sender.username || payload.chat, {
    body,
    tag: `reaction:${payload.chat}`,
    icon: sender.avatar || '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    dir: 'auto',
    data: { chat: payload.chat, message_id: payload.message_id ?? null },
  });
}

async function withTimeout(work, ms) {
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

// The sender's public profile (a sealed push names the username only).
async function profileOf(username) {
  try {
    const response = await fetch(`/api/users/${encodeURIComponent(username)}`);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

async function closeChatNotifications(chat) {
  for (const tag of [`chat:${chat}`, `reaction:${chat}`]) {
    for (const notification of await self.registration.getNotifications({ tag })) notification.close();
  }
}

const CALL_VIBRATION = [700, 300, 700, 300, 700];

// Windows showing the app itself (a public profile page or a file of the origin is not the app).
async function appWindows() {
  const windows = await self.clients.matchAll({ type: 'window' });
  return windows.filter((client) => ['/', '/index.html'].includes(new URL(client.url).pathname));
}

// A call rings on a closed app: a notification that stays until tapped or stopped by the next push.
async function showCall(payload) {
  if (payload.type === 'call_stopped') {
    for (const notification of await self.registration.getNotifications({ tag: `call:${payload.call_id}` })) notification.close();
    return;
  }
  const windows = await appWindows();
  if (windows.some((client) => client.visibilityState === 'visible')) return; // the open app rings itself
  await self.registration.showNotification(payload.from, {
    body: payload.media === 'video' ? 'تماس تصویری ورودی · Incoming video call' : 'تماس صوتی ورودی · Incoming voice call',
    tag: `call:${payload.call_id}`,
    renotify: true,
    requireInteraction: true,
    vibrate: CALL_VIBRATION,
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    dir: 'auto',
    data: { chat: payload.from, call: payload.call_id },
  });
}

async function showPushed(payload) {
  if (payload?.type === 'call' || payload?.type === 'call_stopped') return showCall(payload);
  if (typeof payload?.chat !== 'string') return;
  if (payload.type === 'read') return closeChatNotifications(payload.chat);
  if (payload.type !== 'message' && payload.type !== 'reaction') return;
  // Someone is using the app right now: it plays its own sound, no system notification on top.
  const windows = await appWindows();
  if (windows.some((client) => client.focused && client.visibilityState === 'visible')) return;
  const prefs = await notificationPrefs();
  if (payload.type === 'reaction') return showReaction(payload, prefs);
  let sender = payload.sender ?? {};
  const missedCall = payload.call ? 'تماس بی‌پاسخ · Missed call' : null;
  let text = missedCall ?? (prefs.preview && typeof payload.text === 'string' ? payload.text : null);
  if (payload.encrypted) ({ opened: text, sender } = await openedWithSender(payload, prefs, () => openPushed(payload, prefs.labels ?? {})));
  await self.registration.showNotification(sender.display_name || sender.username || payload.chat, {
    body: text ?? prefs.hiddenText,
    tag: `chat:${payload.chat}`,
    renotify: true,
    icon: sender.avatar || '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    dir: 'auto',
    data: { chat: payload.chat, message_id: payload.message_id ?? null },
  });
}

self.addEventListener('push', (event) => {
  let payload = null;
  try {
    payload = event.data?.json() ?? null;
  } catch {
    return;
  }
  event.waitUntil(showPushed(payload));
});

// Opens (or brings forward) the app at the chat the notification is about.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const chat = event.notification.data?.chat;
  const target = chat ? `/#/chat/${encodeURIComponent(chat)}` : '/';
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
      if (!open) return self.clients.openWindow(target);
      await open.focus();
      open.postMessage({ type: 'open-chat', chat });
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/ws' || url.pathname === '/health') return;
  if (request.mode === 'navigate') {
    event.respondWith(fetch(request).catch(() => caches.match('/index.html', { cacheName: CACHE })));
    return;
  }
  event.respondWith(caches.match(request, { cacheName: CACHE }).then((cached) => cached ?? fetch(request)));
});
