// Notifications: Web Push (the service worker shows them while the app is closed), a desktop
// notification and a sound while it is open but not looked at, and the settings behind them.
import { api } from '/api.js';
import { t } from '/i18n.js';

const PREFS_KEY = 'payambar.notifications';
const DEFAULTS = { enabled: false, preview: true, sound: true };

export function notificationPrefs() {
  try {
    return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(PREFS_KEY)) };
  } catch {
    return { ...DEFAULTS };
  }
}

export function supported() {
  return 'Notification' in window && 'serviceWorker' in navigator && 'PushManager' in window;
}

export async function setNotificationPrefs(changes) {
  const prefs = { ...notificationPrefs(), ...changes };
  localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
  await tellServiceWorker(prefs);
  return prefs;
}

// The service worker shows pushes while no page runs, so it keeps its own copy of the settings.
async function tellServiceWorker(prefs) {
  if (!('serviceWorker' in navigator)) return;
  const registration = await navigator.serviceWorker.ready;
  const labels = { photo: `📷 ${t('photo')}`, voice: `🎤 ${t('voice_message')}`, video: `🎬 ${t('video')}`, file: '📎', reacted: t('push_reacted', { emoji: '{emoji}' }), reacted_any: t('push_reacted_any') };
  registration.active?.postMessage({ type: 'notification-prefs', prefs: { enabled: prefs.enabled, preview: prefs.preview, hiddenText: t('new_message'), labels } });
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options?.applicationServerKey;
  if (!current) return true;
  const wanted = keyBytes(key);
  const bytes = new Uint8Array(current);
  return bytes.length === wanted.length && bytes.every((byte, index) => byte === wanted[index]);
}

// Asks the browser for a push subscription with the server's key and hands it to the server.
// Returns 'granted', 'denied', 'unsupported' or 'no_push' (the browser has no push service:
// Chromium builds without one refuse with "Registration failed - permission denied").
export async function enablePush() {
  if (!supported()) return 'unsupported';
  const permission = await Notification.requestPermission();
  if (permission !== 'granted') return 'denied';
  try {
    await subscribe();
  } catch (error) {
    if (error instanceof DOMException) return 'no_push';
    throw error;
  }
  await setNotificationPrefs({ enabled: true });
  return 'granted';
}

async function subscribe() {
  const registration = await navigator.serviceWorker.ready;
  const { key } = await api.pushKey();
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) });
  const { endpoint, keys } = subscription.toJSON();
  await api.addPushSubscription({ endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } });
}

export async function disablePush() {
  await setNotificationPrefs({ enabled: false });
  if (!supported()) return;
  const registration = await navigator.serviceWorker.ready;
  const subscription = await registration.pushManager.getSubscription();
  if (!subscription) return;
  await api.removePushSubscription(subscription.endpoint).catch(() => {});
  await subscription.unsubscribe().catch(() => {});
}

// At start: a subscription the browser dropped (or a new server key) is renewed quietly.
export async function renewPush() {
  const prefs = notificationPrefs();
  await tellServiceWorker(prefs).catch(() => {});
  if (!prefs.enabled || !supported() || Notification.permission !== 'granted') return;
  await subscribe().catch(() => {});
}

// At logout the browser forgets the subscription too (the server drops it with the session).
export async function forgetPush() {
  if (!supported()) return;
  const registration = await navigator.serviceWorker.getRegistration();
  const subscription = await registration?.pushManager.getSubscription();
  await subscription?.unsubscribe().catch(() => {});
}

let audio = null;

// A short two-note chime, made on the spot: no sound file to download.
export function playSound() {
  // Browsers allow sound only after the person has interacted with the page.
  if (!notificationPrefs().sound || !navigator.userActivation?.hasBeenActive) return;
  try {
    audio ??= new AudioContext();
    const now = audio.currentTime;
    for (const [index, frequency] of [880, 1320].entries()) {
      const tone = audio.createOscillator();
      const volume = audio.createGain();
      tone.frequency.value = frequency;
      volume.gain.setValueAtTime(0.0001, now + index * 0.12);
      volume.gain.exponentialRampToValueAtTime(0.15, now + index * 0.12 + 0.02);
      volume.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.12 + 0.25);
      tone.connect(volume).connect(audio.destination);
      tone.start(now + index * 0.12);
      tone.stop(now + index * 0.12 + 0.3);
    }
  } catch {
    // no audio output: nothing to play on
  }
}

// While the tab is hidden: the same notification a push would show (same tag, so never twice).
export async function showDesktopNotification({ chat, sender, text }) {
  const prefs = notificationPrefs();
  if (!prefs.enabled || !supported() || Notification.permission !== 'granted') return;
  const registration = await navigator.serviceWorker.ready;
  await registration.showNotification(sender.display_name || sender.username, {
    body: prefs.preview ? text : t('new_message'),
    renotify: true,
    tag: `chat:${chat}`,
    icon: sender.avatar || '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: { chat },
    lang: document.documentElement.lang,
    dir: 'auto',
  });
}
