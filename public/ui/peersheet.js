// The other person's profile, opened from the chat header: name, username, bio, last seen,
// the link to share and a way to search the chat.
import { api } from '/api.js';
import { t } from '/i18n.js';
import { state } from '/model.js';
import { h, icon, toast } from '/ui/dom.js';
import { avatar, formatLastSeen } from '/ui/format.js';

export function openPeerSheet(peer, { search }) {
  const known = state.chats.get(peer)?.peer ?? { username: peer, display_name: peer };
  const link = new URL(`/u/${encodeURIComponent(peer)}`, location.href).href;
  const presence = state.presence.get(peer);
  const bio = h('p', { class: 'profile-bio', dir: 'auto', 'data-testid': 'sheet-bio' }, known.bio ?? '');
  const name = h('h2', { class: 'settings-name', dir: 'auto', id: 'sheet-title', 'data-testid': 'sheet-name' }, known.display_name || peer);
  const avatarSlot = h('span', {}, avatar(known, 'avatar-large'));
  const copy = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'sheet-copy-link' }, t('copy_link'));
  const searchButton = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'sheet-search' }, icon('search'), ' ', t('search_chat'));
  const closeButton = h('button', { type: 'button', class: 'icon-button sheet-close', 'aria-label': t('close'), 'data-testid': 'sheet-close' }, icon('close'));
  const dialog = h(
    'dialog',
    { class: 'dialog sheet', 'data-testid': 'peer-sheet', 'aria-labelledby': 'sheet-title' },
    closeButton,
    h(
      'div',
      { class: 'settings-me' },
      avatarSlot,
      name,
      h('p', { class: 'settings-username', dir: 'ltr', 'data-testid': 'sheet-username' }, '@' + peer),
      h('p', { class: 'peer-status', 'data-testid': 'sheet-last-seen' }, presence?.online ? t('online') : formatLastSeen(presence?.last_seen)),
    ),
    bio,
    h('p', { class: 'settings-row' }, h('span', {}, t('share_link')), ' ', h('a', { href: link, dir: 'ltr', 'data-testid': 'sheet-link', target: '_blank', rel: 'noopener noreferrer' }, link)),
    h('div', { class: 'dialog-actions' }, searchButton, copy),
  );
  document.body.append(dialog);
  dialog.showModal();
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  closeButton.addEventListener('click', close);
  dialog.addEventListener('click', (event) => event.target === dialog && close());
  dialog.addEventListener('close', () => dialog.remove());
  searchButton.addEventListener('click', () => {
    close();
    search();
  });
  copy.addEventListener('click', () => navigator.clipboard?.writeText(link).then(() => toast(t('link_copied')), () => {}));
  api.user(peer).then((user) => {
    name.textContent = user.display_name || peer;
    bio.textContent = user.bio ?? '';
    avatarSlot.replaceChildren(avatar(user, 'avatar-large'));
  }, () => {});
}
