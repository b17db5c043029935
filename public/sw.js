// Service worker: precaches the app shell under a versioned cache; never stores API answers.
// Bump VERSION with every deployment so clients pick the new shell up.
const VERSION = 'v1';
const CACHE = `payambar-shell-${VERSION}`;
const SHELL = [
  '/',
  '/index.html',
  '/styles.css',
  '/app.js',
  '/api.js',
  '/db.js',
  '/events.js',
  '/i18n.js',
  '/i18n/fa.js',
  '/i18n/en.js',
  '/model.js',
  '/outbox.js',
  '/session.js',
  '/socket.js',
  '/ui/account.js',
  '/ui/auth.js',
  '/ui/bubbles.js',
  '/ui/chatlist.js',
  '/ui/composer.js',
  '/ui/conversation.js',
  '/ui/dom.js',
  '/ui/fields.js',
  '/ui/format.js',
  '/ui/profile.js',
  '/ui/settings.js',
  '/ui/shell.js',
  '/ui/update.js',
  '/ui/validate.js',
  '/manifest.webmanifest',
  '/icons/icon-192.png',
  '/icons/icon-512.png',
  '/icons/icon-maskable-512.png',
];

self.addEventListener('install', (event) => {
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

self.addEventListener('message', (event) => {
  if (event.data?.type === 'skip-waiting') self.skipWaiting();
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
