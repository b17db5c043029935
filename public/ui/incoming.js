// Messages from other chats while one chat fills a phone's screen: a banner at the top with the
// sender and the text (tapping it opens their chat), and the count of unread chats' messages
// beside the back arrow, as Telegram shows them.
import { on } from '/events.js';
import { t } from '/i18n.js';
import * as model from '/model.js';
import { isMuted } from '/ui/chatmenu.js';
import { h } from '/ui/dom.js';
import { avatar, formatNumber, personName } from '/ui/format.js';
import { attachmentLabel } from '/ui/media.js';

const SHOWN_FOR = 5000;
const PHONE = '(max-width: 767px)';

// Unread messages of every unmuted chat but `peer`.
export function unreadOutside(peer) {
  let total = 0;
  for (const chat of model.state.chats.values()) {
    if (chat.peer.username === peer || isMuted(chat)) continue;
    total += chat.unread_count || 0;
  }
  return total;
}

// The badge on the back arrow of `peer`'s chat, kept up to date.
export function unreadElsewhere(peer, back) {
  const badge = h('span', { class: 'badge back-count', 'data-testid': 'back-unread', 'aria-hidden': 'true', hidden: true });
  back.append(badge);
  const update = () => {
    const count = unreadOutside(peer);
    badge.hidden = !count;
    badge.textContent = count ? formatNumber(count) : '';
    back.setAttribute('aria-label', count ? t('back_unread', { count }) : t('back'));
  };
  const off = on('chats', update);
  update();
  return { destroy: off };
}

// Shows the banner for a fresh message of a chat other than the open one, on a phone only (a
// wide screen has the chat list beside the chat).
export function mountIncomingBanner() {
  let timer = null;
  const region = h('div', { class: 'incoming-region', 'aria-live': 'polite' });
  document.body.append(region);

  function hide() {
    clearTimeout(timer);
    region.replaceChildren();
  }

  function show(message) {
    const peer = model.peerOf(message);
    const open = model.state.openPeer;
    if (model.isMine(message) || !open || open === peer || document.visibilityState !== 'visible' || !matchMedia(PHONE).matches) return;
    const chat = model.state.chats.get(peer);
    if (chat && isMuted(chat)) return;
    const sender = chat?.peer ?? { username: peer, display_name: peer };
    const text = message.text || attachmentLabel(message.attachment);
    const banner = h(
      'button',
      { type: 'button', class: 'incoming-banner', 'data-testid': 'incoming-banner', 'data-peer': peer },
      avatar(sender),
      h('span', { class: 'incoming-body' }, h('span', { class: 'incoming-name', dir: 'auto', 'data-testid': 'incoming-name' }, personName(sender)), h('span', { class: 'incoming-text', dir: 'auto', 'data-testid': 'incoming-text' }, text)),
    );
    banner.addEventListener('click', () => {
      hide();
      location.hash = `#/chat/${encodeURIComponent(peer)}`;
    });
    clearTimeout(timer);
    region.replaceChildren(banner);
    timer = setTimeout(hide, SHOWN_FOR);
  }

  const offIncoming = on('incoming', show);
  const offHash = () => window.removeEventListener('hashchange', hide);
  window.addEventListener('hashchange', hide);
  return {
    destroy() {
      offIncoming();
      offHash();
      hide();
      region.remove();
    },
  };
}
