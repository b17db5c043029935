// One conversation: header with presence and typing, the message log with date separators
// and history paging, and the composer.
import { api } from '/api.js';
import { on } from '/events.js';
import { t } from '/i18n.js';
import * as model from '/model.js';
import { newAttachment } from '/attachments.js';
import { discardFailed, queueMessage } from '/outbox.js';
import { acknowledgeLoaded, deleteMessage, editMessage, reportRead, sendTyping } from '/session.js';
import { bubbleSignature, closeMenus, openMenu, renderBubble, updateStatus } from '/ui/bubbles.js';
import { createComposer } from '/ui/composer.js';
import { h, icon, toast } from '/ui/dom.js';
import { describeApiError } from '/ui/validate.js';
import { avatar, dayKey, formatDay, formatLastSeen } from '/ui/format.js';

const NEAR_BOTTOM = 120;
const NEAR_TOP = 200;

export function renderConversation(main, peer) {
  const chat = model.state.chats.get(peer);
  let peerUser = chat?.peer ?? { username: peer, display_name: peer };
  const back = h('button', { type: 'button', class: 'icon-button back-button', 'data-testid': 'back-button', 'aria-label': t('back') }, icon('back'));
  const avatarSlot = h('span', { class: 'avatar-slot' }, avatar(peerUser));
  const title = h('h2', { class: 'peer-name', dir: 'auto', 'data-testid': 'peer-name' }, peerUser.display_name || peer);
  const status = h('p', { class: 'peer-status', 'data-testid': 'peer-status', 'aria-live': 'polite' });
  const header = h('header', { class: 'conversation-header' }, back, avatarSlot, h('div', { class: 'peer-info' }, title, status));
  const inner = h('div', { class: 'messages-inner' });
  const log = h('div', { class: 'messages', role: 'log', tabindex: '0', 'aria-label': t('messages'), 'data-testid': 'messages' }, inner);
  const toBottom = h('button', { type: 'button', class: 'to-bottom', 'aria-label': t('new_messages'), hidden: true }, icon('down'));
  const composer = createComposer({
    peerName: peerUser.display_name || peer,
    send: (text, replyTo) => queueMessage(peer, text, replyTo),
    edit: (message, text) => editMessage(message.id, text).catch(showError),
    typing: () => sendTyping(peer),
    sendFiles: (files, caption) => files.forEach((file, index) => queueMessage(peer, index ? '' : caption, null, newAttachment(file, file.name))),
    lastOwnMessage: () => model.conversation(peer).messages.findLast((message) => model.isMine(message) && message.id != null && !message.deleted),
  });
  main.replaceChildren(h('section', { class: 'conversation', 'aria-labelledby': 'peer-title' }, header, h('div', { class: 'log-wrap' }, log, toBottom), composer.element));
  title.id = 'peer-title';
  composer.acceptDrops(main.querySelector('.conversation'));

  const bubbles = new Map(); // key -> {signature, element}
  const separators = new Map();
  let firstRender = true;

  function renderMessages() {
    const conv = model.conversation(peer);
    const byId = new Map(conv.messages.filter((message) => message.id != null).map((message) => [message.id, message]));
    const wasNearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM;
    const anchor = inner.querySelector('.msg');
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;
    const nodes = [];
    const seen = new Set();
    let lastDay = null;
    let lastSender = null;
    for (const message of conv.messages) {
      const day = dayKey(message.created_at);
      if (day !== lastDay) {
        nodes.push(separator(day, message.created_at));
        lastDay = day;
        lastSender = null;
      }
      const key = model.messageKey(message);
      const replied = message.reply_to != null ? byId.get(message.reply_to) : null;
      const signature = bubbleSignature(message, replied);
      let entry = bubbles.get(key);
      if (!entry || entry.signature !== signature) {
        entry = { signature, element: renderBubble(message, { replied, peerName: peerUser.display_name || peer }) };
        bubbles.set(key, entry);
      } else {
        updateStatus(entry.element, message);
      }
      entry.element.classList.toggle('follow', message.sender === lastSender);
      lastSender = message.sender;
      seen.add(key);
      nodes.push(entry.element);
    }
    for (const key of bubbles.keys()) if (!seen.has(key)) bubbles.delete(key);
    inner.replaceChildren(...nodes);
    if (firstRender || wasNearBottom) scrollToBottom();
    else if (anchor?.isConnected) log.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    if (conv.messages.length) firstRender = false;
    updateToBottom();
    reportRead(peer);
  }

  function separator(day, iso) {
    const key = `${day}:${formatDay(iso)}`;
    if (!separators.has(key)) separators.set(key, h('div', { class: 'day-separator', role: 'separator' }, h('span', {}, formatDay(iso))));
    return separators.get(key);
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function updateToBottom() {
    toBottom.hidden = log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM;
  }

  let askedForPresence = false;

  // Presence frames only tell changes; a chat that just started learns it from the chat list.
  function askForPresence() {
    if (askedForPresence || model.state.presence.has(peer)) return;
    if (!model.conversation(peer).messages.some((message) => message.id != null)) return;
    askedForPresence = true;
    model.refreshChats().catch(() => (askedForPresence = false));
  }

  function renderStatus() {
    const presence = model.state.presence.get(peer);
    let text = '';
    let kind = '';
    if (model.state.typing.has(peer)) [text, kind] = [t('typing'), 'typing'];
    else if (presence?.online) [text, kind] = [t('online'), 'online'];
    else if (presence) text = formatLastSeen(presence.last_seen);
    status.textContent = text;
    status.dataset.kind = kind;
  }

  function renderPeer() {
    peerUser = model.state.chats.get(peer)?.peer ?? peerUser;
    title.textContent = peerUser.display_name || peer;
    avatarSlot.replaceChildren(avatar(peerUser));
  }

  async function onLogScroll() {
    updateToBottom();
    if (log.scrollTop > NEAR_TOP) return;
    try {
      await model.loadOlder(peer);
    } catch {
      // offline: the cached history is all there is for now
    }
  }

  function jumpToQuoted(quote) {
    const original = inner.querySelector(`.msg[data-id="${CSS.escape(quote.dataset.replyTo)}"]`);
    if (!original) return;
    original.scrollIntoView({ block: 'center', behavior: 'smooth' });
    original.classList.add('highlight');
    setTimeout(() => original.classList.remove('highlight'), 1500);
  }

  function onMessageAction(event) {
    const quote = event.target.closest('.reply-quote');
    if (quote) return jumpToQuoted(quote);
    const button = event.target.closest('.msg-actions');
    if (!button) return;
    const message = model.findMessage(peer, button.closest('.msg').dataset.key);
    if (!message) return;
    openMenu(button, message, (action) => runAction(action, message));
  }

  function runAction(action, message) {
    if (action === 'reply') composer.startReply(message);
    else if (action === 'edit') composer.startEdit(message);
    else if (action === 'delete' && message.id == null) discardFailed(message);
    else if (action === 'delete') deleteMessage(message.id).catch(showError);
    else if (action === 'copy') navigator.clipboard?.writeText(message.text).catch(() => {});
  }

  function showError(error) {
    const problem = describeApiError(error);
    toast(problem.text ?? t(problem.key));
  }

  function onContextMenu(event) {
    const bubble = event.target.closest('.msg');
    const button = bubble?.querySelector('.msg-actions');
    if (!button) return;
    event.preventDefault();
    button.click();
  }

  back.addEventListener('click', () => {
    if (history.state?.fromList) history.back();
    else location.hash = '#/';
  });
  log.addEventListener('scroll', onLogScroll, { passive: true });
  log.addEventListener('click', onMessageAction);
  log.addEventListener('contextmenu', onContextMenu);
  toBottom.addEventListener('click', scrollToBottom);
  const onVisible = () => document.visibilityState === 'visible' && reportRead(peer);
  document.addEventListener('visibilitychange', onVisible);

  const unsubscribe = [
    on('messages', (changed) => changed === peer && (renderMessages(), askForPresence())),
    on('typing', (who) => who === peer && renderStatus()),
    on('presence', renderStatus),
    on('chats', renderPeer),
  ];
  if (!model.state.chats.has(peer)) {
    api.user(peer).then((user) => {
      model.ensureChat(user);
      renderPeer();
    }, () => {});
  }
  renderStatus();
  renderMessages();
  model.loadConversation(peer).then(acknowledgeLoaded, () => {});
  // On touch screens a focused composer would pop the keyboard over the chat at once.
  if (matchMedia('(hover: hover)').matches) composer.focus();

  return {
    destroy() {
      unsubscribe.forEach((off) => off());
      document.removeEventListener('visibilitychange', onVisible);
      closeMenus();
    },
  };
}
