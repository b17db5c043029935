// The other person's profile, opened from the chat header: name, username, bio, last seen,
// the link to share and a way to search the chat.
import { api } from '/api.js';
import { t } from '/i18n.js';
import { markVerified, peerState, safetyNumber } from '/e2ee.js';
import { state } from '/model.js';
import { blockButton, clearButton } from '/ui/blocking.js';
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
  const block = blockButton(peer);
  const safety = safetySection(peer, known.display_name || peer);
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
    safety.element,
    h('div', { class: 'dialog-actions' }, searchButton, copy, block.element, clearButton(peer, () => close())),
  );
  document.body.append(dialog);
  dialog.showModal();
  const close = () => {
    dialog.close();
    dialog.remove();
  };
  closeButton.addEventListener('click', close);
  dialog.addEventListener('click', (event) => event.target === dialog && close());
  dialog.addEventListener('close', () => (dialog.remove(), block.destroy()));
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

// The safety number both people see (60 digits in 12 groups of 5), to compare out of band, and
// marking the chat verified on this device once they match.
function safetySection(peer, name) {
  const digits = h('p', { class: 'safety-number', dir: 'ltr', 'data-testid': 'safety-number' });
  const verified = h('span', { class: 'e2ee-badge verified', 'data-testid': 'verified-badge', hidden: true }, t('e2ee_verified'));
  const button = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'mark-verified' });
  const hint = h('p', { class: 'settings-hint', dir: 'auto' }, t('e2ee_safety_hint', { name }));
  const element = h('section', { class: 'safety', 'data-testid': 'safety-section', hidden: true }, h('h3', {}, t('e2ee_safety_number'), ' ', verified), digits, hint, button);

  function renderVerified() {
    const isVerified = peerState(peer).verified;
    verified.hidden = !isVerified;
    button.textContent = t(isVerified ? 'e2ee_unmark_verified' : 'e2ee_mark_verified');
  }
  button.addEventListener('click', () => markVerified(peer, !peerState(peer).verified).then(renderVerified, () => {}));
  safetyNumber(peer).then(
    (number) => {
      element.hidden = false;
      if (!number) {
        digits.replaceWith(h('p', { class: 'settings-hint', 'data-testid': 'safety-number-none' }, t('e2ee_no_safety_number')));
        hint.hidden = button.hidden = true;
        return;
      }
      digits.replaceChildren(...number.match(/\d{5}/g).map((group) => h('span', { class: 'safety-group' }, group)));
      digits.setAttribute('aria-label', number.match(/\d{5}/g).join(' '));
      renderVerified();
    },
    () => {},
  );
  return { element };
}
