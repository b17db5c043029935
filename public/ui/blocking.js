// Blocking from where a person is: a Block/Unblock button in their profile sheet, and a bar in
// the chat with someone blocked that offers to unblock them. Also clearing the chat for oneself.
import { request } from '/api.js';
import { emit, on } from '/events.js';
import { t } from '/i18n.js';
import { ask } from '/ui/dialog.js';
import { h, toast } from '/ui/dom.js';
import { apiErrorText } from '/ui/validate.js';

const enc = encodeURIComponent;
let blocked = null; // Promise of the set of usernames this user blocks, read once

function blockedSet() {
  blocked ??= request('GET', '/api/me/blocked').then(
    ({ users }) => new Set(users.map((user) => user.username)),
    (error) => ((blocked = null), Promise.reject(error)),
  );
  return blocked;
}

export async function setBlocked(peer, block) {
  await request(block ? 'POST' : 'DELETE', `/api/users/${enc(peer)}/block`);
  const set = await blockedSet();
  if (block) set.add(peer);
  else set.delete(peer);
  emit('blocked', peer);
}

async function toggle(peer, block) {
  try {
    await setBlocked(peer, block);
  } catch (error) {
    toast(apiErrorText(error));
  }
}

// Follows whether `peer` is blocked: `show(isBlocked)` now and on every change; returns the off switch.
function follow(peer, show) {
  const refresh = () => blockedSet().then((set) => show(set.has(peer)), () => {});
  refresh();
  return on('blocked', (who) => who === peer && refresh());
}

export function blockButton(peer) {
  const button = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'sheet-block', hidden: true });
  let isBlocked = false;
  const off = follow(peer, (now) => {
    isBlocked = now;
    button.hidden = false;
    button.textContent = now ? t('unblock') : t('block');
    button.dataset.blocked = String(now);
  });
  button.addEventListener('click', () => toggle(peer, !isBlocked));
  return { element: button, destroy: off };
}

export function blockedBar(peer) {
  const unblock = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'unblock-bar-button' }, t('unblock'));
  const element = h('div', { class: 'blocked-bar', role: 'status', 'data-testid': 'unblock-bar', hidden: true }, h('span', {}, t('you_blocked_them')), unblock);
  unblock.addEventListener('click', () => toggle(peer, false));
  const destroy = follow(peer, (now) => (element.hidden = !now));
  return { element, destroy };
}

// The settings list changed blocks another way: read them again next time.
export function forgetBlocked() {
  blocked = null;
}

// Clear history / delete the chat, for this user only (the other person keeps it), after asking.
export function clearButton(peer, done) {
  const button = h('button', { type: 'button', class: 'danger-button', 'data-testid': 'sheet-clear' }, t('clear_chat'));
  button.addEventListener('click', async () => {
    const answer = await ask({ title: t('clear_chat'), text: t('clear_chat_text'), answers: [{ label: t('clear_chat'), value: 'clear', danger: true }] });
    if (answer !== 'clear') return;
    try {
      await request('POST', `/api/conversations/${enc(peer)}/clear`);
      done();
    } catch (error) {
      toast(apiErrorText(error));
    }
  });
  return button;
}
