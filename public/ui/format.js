// Times, dates, initials and avatar colours, in the current language.
import { locale, t } from '/i18n.js';
import { h, icon } from '/ui/dom.js';

// Making a formatter costs far more than using one: one per language and set of options.
const formatters = new Map();

function formatter(options) {
  const key = `${locale()}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) formatters.set(key, new Intl.DateTimeFormat(locale(), options));
  return formatters.get(key);
}

const numberFormats = new Map();

// A count in the interface's digits (۱۲۳ in Persian).
export function formatNumber(number) {
  if (!numberFormats.has(locale())) numberFormats.set(locale(), new Intl.NumberFormat(locale()));
  return numberFormats.get(locale()).format(number);
}

export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  // "5:14 PM", not "05:14 PM"
  return formatter({ hour: 'numeric', minute: '2-digit' }).format(date);
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

export function dayKey(iso) {
  return String(startOfDay(new Date(iso)));
}

export function formatDay(iso) {
  const date = new Date(iso);
  const days = Math.round((startOfDay(new Date()) - startOfDay(date)) / 86400000);
  if (days === 0) return t('today');
  if (days === 1) return t('yesterday');
  const options = { month: 'long', day: 'numeric' };
  if (date.getFullYear() !== new Date().getFullYear()) options.year = 'numeric';
  return formatter(options).format(date);
}

// The chat list shows the time today, the weekday this week, else the date.
export function formatListTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const days = Math.round((startOfDay(new Date()) - startOfDay(date)) / 86400000);
  if (days === 0) return formatTime(iso);
  if (days < 7) return formatter({ weekday: 'short' }).format(date);
  return formatter({ month: 'short', day: 'numeric' }).format(date);
}

export function formatLastSeen(iso) {
  if (!iso) return t('last_seen_recently');
  const days = Math.round((startOfDay(new Date()) - startOfDay(new Date(iso))) / 86400000);
  const when = days === 0 ? formatTime(iso) : `${formatDay(iso)} ${formatTime(iso)}`;
  return t('last_seen', { time: when });
}

function initials(name) {
  const words = (name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [words[0] ?? '?'];
  return letters.map((word) => [...word][0]).join('').toUpperCase();
}

const AVATAR_COLOURS = 8;

// The name a person is shown by; an account deleted since says so instead of its old name.
export function personName(user) {
  return user.deleted ? t('deleted_account') : user.display_name || user.username;
}

export function avatar(user, size = '') {
  let hash = 0;
  for (const char of user.username ?? '') hash = (hash * 31 + char.codePointAt(0)) >>> 0;
  const element = h('span', { class: `avatar avatar-${hash % AVATAR_COLOURS} ${size}`, 'aria-hidden': 'true' }, initials(user.display_name || user.username));
  if (user.avatar) {
    // The photo covers the initials once it loads; public and cached for good under its versioned URL.
    const photo = h('img', { class: 'avatar-photo', alt: '', loading: 'lazy', src: `${user.avatar}&size=${size === 'avatar-large' ? 256 : 64}` });
    photo.addEventListener('error', () => photo.remove());
    element.append(photo);
  }
  return element;
}

function statusLabel(status) {
  return t(`status_${status}`);
}

// ✓ sent, ✓✓ delivered, ✓✓ in the accent colour read, a clock while waiting in the outbox.
export function statusMark(status) {
  const glyph = status === 'pending' ? icon('clock') : ({ sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' }[status] ?? '');
  return h('span', { class: `status status-${status}`, 'data-testid': 'status', 'data-status': status, role: 'img', 'aria-label': statusLabel(status) }, glyph);
}

// The bidi embedding and override characters (U+202A–U+202E) can turn the rest of a line around
// ("invoice‮fdp.exe" showing as "invoiceexe.pdf"): message text is shown without them. They stay
// in what is stored and sent; isolates and marks, which cannot reach past their own run, stay too.
const BIDI_OVERRIDES = /[\u202a-\u202e]/g;

export function withoutOverrides(text) {
  return (text || '').replace(BIDI_OVERRIDES, '');
}
