// One conversation: header with presence and typing, the message log with date separators
// and history paging, and the composer.
import { api } from '/api.js';
import { on } from '/events.js';
import { t } from '/i18n.js';
import * as model from '/model.js';
import { newAttachment } from '/attachments.js';
import { startCall } from '/call.js';
import { queueMessage } from '/outbox.js';
import { acknowledgeLoaded, editMessage, pinMessage, react, reportRead, sendTyping } from '/session.js';
import { pickEmoji } from '/ui/emoji.js';
import { attachmentLabel } from '/ui/media.js';
import { confirmDelete, forward } from '/ui/actions.js';
import { albumsFor, groupAlbums } from '/ui/albums.js';
import { albumSignature, albumStatus, bubbleSignature, closeMenus, openMenu, renderAlbum, renderBubble, updateStatus } from '/ui/bubbles.js';
import { createChatSearch } from '/ui/chatsearch.js';
import { createComposer } from '/ui/composer.js';
import { CALL_ICONS } from '/ui/callscreen.js';
import { coalesced, h, icon, pathIcon, toast } from '/ui/dom.js';
import { avatar, dayKey, formatDay, formatLastSeen, formatNumber, personName, withoutOverrides } from '/ui/format.js';
import { attachGestures } from '/ui/gestures.js';
import { openPeerSheet } from '/ui/peersheet.js';
import { blockedBar } from '/ui/blocking.js';
import { peerState } from '/e2ee.js';
import { encryptionParts } from '/ui/encryption.js';
import { createSeenTracker } from '/ui/seen.js';
import { openMessageInfo } from '/ui/messageinfo.js';
import { createSelection } from '/ui/selection.js';
import { unreadElsewhere } from '/ui/incoming.js';
import { describeApiError } from '/ui/validate.js';

const NEAR_BOTTOM = 120;
const NEAR_TOP = 200;

// Moves the children of `parent` into the order of `nodes` touching only what changed, so a new
// message or a page at one end costs a few DOM operations, not the whole list again.
function placeChildren(parent, nodes) {
  const wanted = new Set(nodes);
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
  let current = parent.firstElementChild;
  for (const node of nodes) {
    if (current === node) current = current.nextElementSibling;
    else parent.insertBefore(node, current);
  }
}

export function renderConversation(main, peer) {
  const chat = model.state.chats.get(peer);
  let peerUser = chat?.peer ?? { username: peer, display_name: peer };
  const back = h('button', { type: 'button', class: 'icon-button back-button', 'data-testid': 'back-button', 'aria-label': t('back') }, icon('back'));
  const avatarSlot = h('span', { class: 'avatar-slot' }, avatar(peerUser));
  const title = h('span', { class: 'peer-name', dir: 'auto', 'data-testid': 'peer-name', id: 'peer-title' }, personName(peerUser));
  const status = h('span', { class: 'peer-status', 'data-testid': 'peer-status', 'aria-live': 'polite' });
  const encryption = encryptionParts(peer, () => peerUser.display_name || peer, { changed: () => renderSoon() });
  const peerButton = h(
    'button',
    { type: 'button', class: 'peer-button', 'data-testid': 'peer-button', 'aria-haspopup': 'dialog', 'aria-describedby': 'peer-hint' },
    avatarSlot,
    h('span', { class: 'peer-info' }, title, status, encryption.badge),
    h('span', { class: 'visually-hidden', id: 'peer-hint' }, t('open_profile')),
  );
  const searchButton = h('button', { type: 'button', class: 'icon-button', 'data-testid': 'chat-search-button', 'aria-label': t('search_chat') }, icon('search'));
  const audioCall = h('button', { type: 'button', class: 'icon-button', 'data-testid': 'call-audio-button', 'aria-label': t('call_audio'), title: t('call_audio'), onclick: () => startCall(peer, 'audio') }, pathIcon('phone', CALL_ICONS.phone));
  const videoCall = h('button', { type: 'button', class: 'icon-button', 'data-testid': 'call-video-button', 'aria-label': t('call_video'), title: t('call_video'), onclick: () => startCall(peer, 'video') }, pathIcon('video', CALL_ICONS.video));
  const header = h('header', { class: 'conversation-header' }, back, peerButton, audioCall, videoCall, searchButton);
  const inner = h('div', { class: 'messages-inner' });
  const log = h('div', { class: 'messages', role: 'log', tabindex: '0', 'aria-label': t('messages'), 'data-testid': 'messages' }, inner);
  const unreadBelow = h('span', { class: 'badge to-bottom-count', 'data-testid': 'unread-below', hidden: true });
  const toBottom = h('button', { type: 'button', class: 'to-bottom', 'data-testid': 'to-bottom', 'aria-label': t('to_bottom'), hidden: true }, icon('down'), unreadBelow);
  const dayPill = h('span', { class: 'pill day-pill', 'data-testid': 'day-pill' });
  const dayBar = h('div', { class: 'day-bar', 'aria-hidden': 'true', hidden: true }, dayPill);
  const composer = createComposer({
    peer,
    peerName: () => peerUser.display_name || peer,
    send: (text, replyTo, preview) => (model.showLatest(peer), queueMessage(peer, text, replyTo, null, null, preview)),
    edit: (message, text) => editMessage(message, text).catch(showError),
    typing: () => sendTyping(peer),
    sendFiles: (files, caption, options = {}) => {
      model.showLatest(peer);
      // A plaintext chat has no sealed inner message to carry an album in: there each file goes alone.
      const albums = peerState(peer).encrypted === false ? [] : albumsFor(files, options);
      files.forEach((file, index) => queueMessage(peer, index ? '' : caption, null, newAttachment(file, file.name, options), null, null, albums[index] ?? null));
    },
    lastOwnMessage: () => model.conversation(peer).messages.findLast((message) => model.isMine(message) && message.id != null && !message.deleted),
  });
  const blockBar = blockedBar(peer);
  const pins = pinnedBar();
  const chatSearch = createChatSearch({ peer, jumpTo: (id) => jumpTo(id), close: () => searchButton.focus() });
  const selection = createSelection({ peer, log, header, nameOf: (username) => nameOf(username), onForwarded: (target) => (location.hash = `#/chat/${encodeURIComponent(target)}`) });
  const elsewhere = unreadElsewhere(peer, back);
  main.replaceChildren(
    h('section', { class: 'conversation', 'aria-labelledby': 'peer-title' }, header, selection.element, chatSearch.element, pins.element, dayBar, h('div', { class: 'log-wrap' }, log, toBottom), encryption.notices, blockBar.element, composer.element),
  );
  composer.acceptDrops(main.querySelector('.conversation'));

  const bubbles = new Map(); // key -> {signature, element}
  const separators = new Map();
  const unreadDivider = h('div', { class: 'unread-divider', role: 'separator', 'data-testid': 'unread-divider' }, h('span', {}, t('unread_messages')));
  const seen = createSeenTracker(log, (upTo) => reportRead(peer, upTo));
  let positioned = false; // the chat sits where it opens: at the first unread, else at the bottom
  let readerMoved = false; // the reader scrolled before it settled: their place wins
  const moved = () => {
    if (!positioned) readerMoved = true;
  };
  for (const kind of ['wheel', 'touchmove', 'keydown']) log.addEventListener(kind, moved, { passive: true });
  let pagingNewer = false; // a newer page is coming in below: the view keeps its place
  let firstUnreadId = null;
  let lastNewestKey = null;

  function renderMessages() {
    const conv = model.conversation(peer);
    const shownList = model.shownMessages(peer);
    const byId = new Map(conv.messages.filter((message) => message.id != null).map((message) => [message.id, message]));
    const wasNearBottom = log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM;
    const peerName = peerUser.display_name || peer;
    const anchor = visibleBubble();
    const anchorTop = anchor?.getBoundingClientRect().top ?? 0;
    const nodes = [];
    const shown = new Set();
    let lastDay = null;
    let lastSender = null;
    const elementOf = new Map(); // message key -> the bubble that shows it (an album's, for its parts)
    const chatEncrypted = peerState(peer).encrypted;
    for (const group of groupAlbums(shownList)) {
      const [message] = group.messages;
      const day = dayKey(message.created_at);
      if (day !== lastDay) {
        // The first day is what the day bar above the log shows: said once, for screen readers only.
        nodes.push(separator(day, message.created_at, lastDay === null));
        lastDay = day;
        lastSender = null;
      }
      if (firstUnreadId != null && group.messages.some((part) => part.id === firstUnreadId)) {
        nodes.push(unreadDivider);
        lastSender = null;
      }
      const replied = message.reply_to != null ? (byId.get(message.reply_to) ?? model.quotedMessage(peer, message.reply_to)) : null;
      const forwardedName = message.forwarded_from ? nameOf(message.forwarded_from) : null;
      const entry = groupBubble(group, { replied, peerName, forwardedName, chatEncrypted });
      entry.element.classList.toggle('follow', message.sender === lastSender);
      lastSender = message.sender;
      shown.add(entry.key);
      for (const part of group.messages) elementOf.set(model.messageKey(part), entry.element);
      nodes.push(entry.element);
    }
    for (const [key, entry] of bubbles) {
      if (shown.has(key)) continue;
      seen.unwatch(entry.element);
      bubbles.delete(key);
    }
    placeChildren(inner, nodes);
    const newest = shownList.at(-1);
    const justWritten = newest && newest.id == null && model.isMine(newest) && newest.status === 'pending';
    const atEnd = !conv.has_newer && !pagingNewer;
    if ((!positioned && !readerMoved && atEnd) || (wasNearBottom && atEnd) || (justWritten && model.messageKey(newest) !== lastNewestKey)) scrollToBottom();
    else if (anchor?.isConnected) log.scrollTop += anchor.getBoundingClientRect().top - anchorTop;
    lastNewestKey = newest ? model.messageKey(newest) : null;
    for (const message of shownList) {
      if (message.id == null || model.isMine(message) || message.status === 'read') continue;
      const element = elementOf.get(model.messageKey(message));
      if (element) seen.watch(element); // none for an album's deleted part, which is not shown
    }
    updateToBottom();
    updateDayBar();
    if (selection.active) selection.paint();
  }

  // The bubble of one message, or of an album's parts: drawn again only when what it shows changed.
  function groupBubble(group, options) {
    const { messages } = group;
    const album = group.album && messages.length > 1 ? group : null;
    const key = album ? `album:${messages[0].sender}:${album.album}` : model.messageKey(messages[0]);
    const { replied, peerName, forwardedName, chatEncrypted } = options;
    const signature = album ? albumSignature(messages, replied, peerName, forwardedName, chatEncrypted) : bubbleSignature(messages[0], replied, peerName, forwardedName, chatEncrypted);
    let entry = bubbles.get(key);
    if (!entry || entry.signature !== signature) {
      if (entry) seen.unwatch(entry.element);
      entry = { key, signature, element: album ? renderAlbum(messages, options) : renderBubble(messages[0], options) };
      bubbles.set(key, entry);
    } else {
      updateStatus(entry.element, album ? { status: albumStatus(messages), id: messages.at(-1).id } : messages[0]);
    }
    return entry;
  }

  // The first bubble at least partly on screen: what must stay put when pages come and go.
  function visibleBubble() {
    const top = log.getBoundingClientRect().top;
    for (const node of inner.children) {
      if (node.classList.contains('msg') && node.getBoundingClientRect().bottom > top) return node;
    }
    return null;
  }

  function nameOf(username) {
    if (username === model.state.me.username) return model.state.me.display_name || username;
    return model.state.chats.get(username)?.peer.display_name || username;
  }

  // Opens where reading stopped: the first unread message under an "unread messages" divider.
  async function position() {
    const unreadFrom = chat?.unread_count ? chat.first_unread_id : null;
    try {
      if (unreadFrom) acknowledgeLoaded(await model.loadAround(peer, unreadFrom));
      else {
        acknowledgeLoaded(await model.loadConversation(peer));
        await model.loadUntilFirstUnread(peer);
      }
    } catch {
      // offline: the cached pages are all there is
      if (unreadFrom) await model.loadConversation(peer).catch(() => {});
    }
    if (positioned) return;
    firstUnreadId = model.unreadMessages(peer)[0]?.id ?? null;
    renderMessages();
    if (firstUnreadId != null && !readerMoved) {
      log.scrollTop += unreadDivider.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    }
    positioned = true;
    log.dataset.positioned = 'true'; // scrolling pages in older history from here on
    updateToBottom();
    updateDayBar();
    seen.enable();
  }

  // The day of the topmost message, above the log: it never lies over a message.
  function updateDayBar() {
    const top = log.getBoundingClientRect().top + 4;
    let current = null;
    for (const node of inner.children) {
      if (!node.classList.contains('day-separator')) continue;
      if (current && node.getBoundingClientRect().top > top) break;
      current = node;
    }
    dayBar.hidden = !current;
    dayPill.textContent = current?.textContent ?? '';
  }

  function separator(day, iso, first) {
    const key = `${day}:${formatDay(iso)}`;
    if (!separators.has(key)) separators.set(key, h('div', { class: 'day-separator', role: 'separator' }, h('span', {}, formatDay(iso))));
    const element = separators.get(key);
    element.classList.toggle('visually-hidden', first);
    return element;
  }

  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  // The to-bottom button: to the newest message, bringing the window back there first.
  async function toLatest() {
    const loading = model.showLatest(peer);
    scrollToBottom();
    if (loading) await loading.catch(() => {});
    renderMessages();
    scrollToBottom();
  }

  function updateToBottom() {
    const conv = model.conversation(peer);
    toBottom.hidden = !conv.has_newer && log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM;
    const unread = conv.has_newer ? (model.state.chats.get(peer)?.unread_count ?? 0) : model.unreadMessages(peer).length;
    unreadBelow.hidden = !unread;
    unreadBelow.textContent = formatNumber(unread);
    toBottom.setAttribute('aria-label', unread ? t('to_bottom_unread', { count: unread }) : t('to_bottom'));
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
    const known = model.state.chats.get(peer)?.peer ?? peerUser;
    const renamed = (known.display_name || peer) !== (peerUser.display_name || peer);
    peerUser = known;
    title.textContent = personName(peerUser);
    avatarSlot.replaceChildren(avatar(peerUser));
    if (renamed) renderMessages();
  }

  async function onLogScroll() {
    updateToBottom();
    updateDayBar();
    if (!positioned) return;
    const conv = model.conversation(peer);
    const fromBottom = log.scrollHeight - log.scrollTop - log.clientHeight;
    try {
      if (log.scrollTop <= NEAR_TOP && !conv.loadingOlder && conv.has_more) await model.loadOlder(peer);
      else if (fromBottom <= NEAR_TOP && !conv.loadingNewer && conv.has_newer) {
        pagingNewer = true;
        await model.loadNewer(peer).finally(() => (pagingNewer = false));
      }
    } catch {
      // offline: the cached history is all there is for now
    }
  }

  // Scrolls to one message, loading the pages up to it first, and makes it blink.
  async function jumpTo(id) {
    await positioning;
    let loaded = false;
    try {
      loaded = await model.loadUntilMessage(peer, id);
    } catch {
      // offline: only what is loaded can be shown
    }
    renderMessages();
    const wanted = CSS.escape(String(id));
    const original = inner.querySelector(`.msg[data-id="${wanted}"], .msg[data-part-ids~="${wanted}"]`);
    if (!loaded || !original) return toast(t('message_unavailable'));
    original.scrollIntoView({ block: 'center' });
    original.classList.add('highlight');
    setTimeout(() => original.classList.remove('highlight'), 1500);
  }

  // The chat's pinned messages above the log: the newest first; a tap shows it and moves to the
  // next, the cross unpins the one shown (for both people).
  function pinnedBar() {
    let index = 0;
    const text = h('span', { class: 'pinned-text', dir: 'auto', 'data-testid': 'pinned-text' });
    const count = h('span', { class: 'pinned-count', 'data-testid': 'pinned-count' });
    const show = h('button', { type: 'button', class: 'pinned-show', 'data-testid': 'pinned-show' }, h('span', { class: 'pinned-label' }, t('pinned_message')), count, text);
    const unpin = h('button', { type: 'button', class: 'icon-button pinned-unpin', 'data-testid': 'pinned-unpin', 'aria-label': t('unpin') }, '×');
    const element = h('div', { class: 'pinned-bar', role: 'region', 'aria-label': t('pinned_messages'), 'data-testid': 'pinned-bar', hidden: true }, show, unpin);
    const list = () => model.pinnedOf(peer);
    function render() {
      const pinned = list();
      element.hidden = !pinned.length;
      if (!pinned.length) return;
      index %= pinned.length;
      const message = pinned[index];
      element.dataset.id = String(message.id);
      text.textContent = withoutOverrides(message.text || attachmentLabel(message.attachment) || (message.e2ee === 'failed' ? t('e2ee_failed') : ''));
      count.textContent = pinned.length > 1 ? `${formatNumber(index + 1)}/${formatNumber(pinned.length)}` : '';
    }
    show.addEventListener('click', () => {
      const pinned = list();
      if (!pinned.length) return;
      jumpTo(pinned[index % pinned.length].id);
      index = (index + 1) % pinned.length;
      render();
    });
    unpin.addEventListener('click', () => {
      const message = list()[index % Math.max(1, list().length)];
      if (message) pinMessage(message, false).catch(showError);
    });
    model.loadPins(peer).catch(() => {});
    return { element, render };
  }

  function onMessageAction(event) {
    const quote = event.target.closest('.reply-quote');
    if (quote) return jumpTo(Number(quote.dataset.replyTo));
    const chip = event.target.closest('.reaction');
    if (chip) {
      const message = model.findMessage(peer, chip.closest('.msg').dataset.key);
      if (message) react(message, chip.getAttribute('aria-pressed') === 'true' ? null : chip.dataset.emoji).catch(showError);
      return;
    }
    const button = event.target.closest('.msg-actions');
    if (!button) return;
    const message = model.findMessage(peer, button.closest('.msg').dataset.key);
    if (!message) return;
    openMenu(button, message, (action, value) => runAction(action, message, value));
  }

  function runAction(action, message, value = null) {
    if (action === 'react') return react(message, value).catch(showError);
    if (action === 'react-more') return pickEmoji(t('react')).then((emoji) => emoji && react(message, emoji)).catch(showError);
    if (action === 'pin' || action === 'unpin') return pinMessage(message, action === 'pin').catch(showError);
    if (action === 'reply') composer.startReply(message);
    else if (action === 'edit') composer.startEdit(message);
    else if (action === 'delete') confirmDelete(message).catch(showError);
    else if (action === 'forward') forward(message).then((target) => target && (location.hash = `#/chat/${encodeURIComponent(target)}`), showError);
    else if (action === 'copy') navigator.clipboard?.writeText(message.text).catch(() => {});
    else if (action === 'select') selection.start(message);
    else if (action === 'info') openMessageInfo(message, () => model.findMessage(peer, model.messageKey(message)));
  }

  // `partKey`: the album part (a tile, a file) the press was on; else the message the bubble is.
  function menuFor(bubble, partKey = null) {
    if (selection.active) return selection.toggle(bubble);
    const button = bubble.querySelector('.msg-actions');
    const message = model.findMessage(peer, partKey ?? bubble.dataset.key);
    if (button && message) openMenu(button, message, (action, value) => runAction(action, message, value));
  }

  function showError(error) {
    const problem = describeApiError(error);
    toast(problem.text ?? t(problem.key));
  }

  function onContextMenu(event) {
    const bubble = event.target.closest('.msg');
    if (!bubble?.querySelector('.msg-actions') || event.target.closest('a')) return;
    event.preventDefault();
    if (selection.active) selection.toggle(bubble);
    else if (!bubble.querySelector('.menu')) menuFor(bubble, event.target.closest('[data-part-key]')?.dataset.partKey);
  }

  back.addEventListener('click', () => {
    if (history.state?.fromList) history.back();
    else location.hash = '#/';
  });
  log.addEventListener('scroll', onLogScroll, { passive: true });
  log.addEventListener('click', onMessageAction);
  log.addEventListener('contextmenu', onContextMenu);
  let pressedPart = null; // the album tile or file a long press began on
  log.addEventListener('pointerdown', (event) => (pressedPart = event.target.closest('[data-part-key]')), { passive: true });
  attachGestures(log, {
    longPress: (bubble) => menuFor(bubble, bubble.contains(pressedPart) ? pressedPart.dataset.partKey : null),
    swipeReply: (bubble) => {
      if (selection.active) return;
      const message = model.findMessage(peer, bubble.dataset.key);
      if (message?.id != null && !message.deleted) composer.startReply(message);
    },
  });
  peerButton.addEventListener('click', () => openPeerSheet(peer, { search: () => chatSearch.open() }));
  searchButton.addEventListener('click', () => chatSearch.open());
  toBottom.addEventListener('click', toLatest);
  const onVisible = () => seen.report();
  document.addEventListener('visibilitychange', onVisible);

  const renderSoon = coalesced(() => {
    renderMessages();
    askForPresence();
  });
  const unsubscribe = [
    on('messages', (changed) => changed === peer && renderSoon()),
    on('pins', (changed) => changed === peer && pins.render()),
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
  const positioning = position();
  // On touch screens a focused composer would pop the keyboard over the chat at once.
  if (matchMedia('(hover: hover)').matches) composer.focus();

  return {
    jumpTo,
    destroy() {
      composer.destroy();
      blockBar.destroy();
      encryption.destroy();
      chatSearch.destroy();
      selection.destroy();
      elsewhere.destroy();
      unsubscribe.forEach((off) => off());
      document.removeEventListener('visibilitychange', onVisible);
      seen.destroy();
      closeMenus();
    },
  };
}
