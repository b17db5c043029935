// The sidebar's chat list, with search: people (username or name) and messages of all chats.
import { api } from '/api.js';
import { mergeHits, searchSealed } from '/localsearch.js';
import { on } from '/events.js';
import { t } from '/i18n.js';
import { ensureChat, isMine, peerOf, sortedChats, state } from '/model.js';
import { autoDirection, coalesced, h, icon } from '/ui/dom.js';
import { avatar, formatListTime, formatNumber, personName, statusMark, withoutOverrides } from '/ui/format.js';
import { callLabel } from '/ui/callentry.js';
import { albumOf } from '/ui/albums.js';
import { attachmentLabel, kindOf } from '/ui/media.js';
import { apiErrorText } from '/ui/validate.js';
import { change, isMuted, openChatMenu } from '/ui/chatmenu.js';

const MAX_QUERY = 64;

export function renderChatList(container) {
  const search = h('input', {
    type: 'search',
    class: 'search-input',
    'data-testid': 'search-input',
    placeholder: t('search_people'),
    'aria-label': t('search_people'),
    autocomplete: 'off',
    spellcheck: 'false',
  });
  autoDirection(search);
  const settingsLink = h('a', { href: '#/settings', class: 'icon-button', 'aria-label': t('open_settings'), 'data-testid': 'settings-button' }, icon('menu'));
  const list = h('ul', { class: 'chat-list', 'data-testid': 'chat-list', 'aria-label': t('chats') });
  const results = h('ul', { class: 'chat-list', 'data-testid': 'search-results', 'aria-label': t('people'), hidden: true });
  const peopleHeading = h('h2', { class: 'list-heading', hidden: true }, t('people'));
  const messagesHeading = h('h2', { class: 'list-heading', hidden: true }, t('messages_found'));
  const messageResults = h('ul', { class: 'chat-list', 'data-testid': 'message-results', 'aria-label': t('messages_found'), hidden: true });
  const empty = h('p', { class: 'empty-note', 'data-testid': 'chat-list-note' });
  const newChat = h('button', { type: 'button', class: 'primary-button new-chat', 'data-testid': 'new-chat', hidden: true, onclick: () => search.focus() }, t('new_chat'));
  container.replaceChildren(
    h('header', { class: 'sidebar-header' }, settingsLink, h('div', { class: 'search-box' }, icon('search'), search)),
    h('h1', { class: 'visually-hidden' }, t('chats')),
    h('div', { class: 'sidebar-body' }, list, peopleHeading, results, messagesHeading, messageResults, empty, newChat),
  );

  let activePeer = state.openPeer;
  let searchAbort = null;
  let searchFailure = null;
  let searchTimer = null;

  let showArchived = false;

  function renderChats() {
    // A chat opened from search shows up once it has a message or a draft, or while it is open.
    const chats = sortedChats().filter((chat) => chat.last_message || chat.peer.username === activePeer || state.drafts.has(chat.peer.username));
    const archived = chats.filter((chat) => chat.archived);
    if (!archived.length) showArchived = false;
    const shown = chats.filter((chat) => Boolean(chat.archived) === showArchived);
    const me = state.me?.username;
    const savedEntry = !showArchived && me && !shown.some((chat) => chat.peer.username === me) ? [savedMessagesEntry(me)] : [];
    list.replaceChildren(...savedEntry, ...(archived.length ? [archivedEntry(archived)] : []), ...shown.map((chat) => chatItem(chat, chat.peer.username === activePeer)));
    const unread = chats.reduce((total, chat) => total + (chat.unread_count || 0), 0);
    document.title = unread ? `(${formatNumber(unread)}) ${t('app_name')}` : t('app_name');
    updateEmpty();
  }

  function updateEmpty() {
    const searching = list.hidden;
    const found = results.childElementCount + messageResults.childElementCount;
    const hasChats = list.querySelector('[data-testid=chat-item]');
    const text = searching ? (found ? '' : searchFailure ? unreachableText(searchFailure) : t('no_results')) : hasChats ? '' : t('no_chats');
    empty.textContent = text;
    empty.hidden = !text;
    newChat.hidden = searching || Boolean(hasChats);
  }

  function showResults(users, found) {
    results.replaceChildren(...users.map((user) => resultItem(user)));
    messageResults.replaceChildren(...found.map((message) => messageItem(message)));
    list.hidden = true;
    results.hidden = peopleHeading.hidden = !users.length;
    messageResults.hidden = messagesHeading.hidden = !found.length;
    updateEmpty();
  }

  function closeSearch() {
    searchAbort?.abort();
    results.hidden = messageResults.hidden = peopleHeading.hidden = messagesHeading.hidden = true;
    results.replaceChildren();
    messageResults.replaceChildren();
    list.hidden = false;
    updateEmpty();
  }

  // People and messages are asked for together; either may fail alone (offline, rate limit).
  function runSearch() {
    const query = search.value.trim();
    clearTimeout(searchTimer);
    searchAbort?.abort();
    if (!query) return closeSearch();
    const person = query.replace(/^@/, '').slice(0, MAX_QUERY);
    searchTimer = setTimeout(async () => {
      searchAbort = new AbortController();
      const signal = searchAbort.signal;
      let failure = null;
      const failed = (error) => ((failure ??= error), []);
      const [people, fromServer] = await Promise.all([
        person ? api.searchUsers(person, signal).then((answer) => answer.users, failed) : [],
        api.search(query, {}, signal).then((answer) => answer.messages, failed),
      ]);
      const sealed = await searchSealed(query, { limit: 20 }).catch(() => []); // never in the server's index: found here
      const found = mergeHits({ messages: fromServer, has_more: false }, sealed, 20).messages;
      searchFailure = failure;
      if (!signal.aborted && search.value.trim() === query) showResults(people, found);
    }, 250);
  }

  function messageItem(message) {
    const peer = peerOf(message);
    const chat = state.chats.get(peer);
    const name = chat?.peer.display_name || peer;
    const link = h(
      'a',
      { href: `#/chat/${encodeURIComponent(peer)}/${message.id}`, class: 'chat-item', 'data-testid': 'message-result', 'data-peer': peer, 'data-id': message.id },
      avatar(chat?.peer ?? { username: peer }),
      h(
        'span',
        { class: 'chat-main' },
        h('span', { class: 'chat-top' }, h('span', { class: 'chat-name', dir: 'auto' }, name), h('time', { class: 'chat-time', datetime: message.created_at }, formatListTime(message.created_at))),
        h('span', { class: 'chat-preview', dir: 'auto' }, isMine(message) ? `${t('you')}: ` : '', withoutOverrides(message.text) || callLabel(message) || fileLabel(message)),
      ),
    );
    link.addEventListener('click', () => {
      search.value = '';
      search.dispatchEvent(new Event('input'));
    });
    return h('li', {}, link);
  }

  function resultItem(user) {
    const link = h(
      'a',
      { href: `#/chat/${encodeURIComponent(user.username)}`, class: 'chat-item', 'data-testid': 'search-result', 'data-peer': user.username },
      avatar(user),
      h('span', { class: 'chat-main' }, h('span', { class: 'chat-name', dir: 'auto' }, user.display_name || user.username), h('span', { class: 'chat-preview', dir: 'ltr' }, '@' + user.username)),
    );
    link.addEventListener('click', () => {
      ensureChat(user);
      search.value = '';
      search.dispatchEvent(new Event('input'));
    });
    return h('li', {}, link);
  }

  // Saved Messages, the chat with yourself, is always at the top, even before its first note.
  function savedMessagesEntry(me) {
    const link = h(
      'a',
      { href: `#/chat/${encodeURIComponent(me)}`, class: 'chat-item', 'data-testid': 'saved-messages-entry', 'data-peer': me },
      avatar(state.me),
      h('span', { class: 'chat-main' }, h('span', { class: 'chat-name' }, t('saved_messages'))),
    );
    link.addEventListener('click', () => ensureChat(state.me));
    return h('li', {}, link);
  }

  // The archived chats open in place of the list; the same entry leads back.
  function archivedEntry(archived) {
    const unread = archived.filter((chat) => chat.unread_count > 0 || chat.marked_unread).length;
    const button = h(
      'button',
      { type: 'button', class: 'chat-item archived-entry', 'data-testid': 'archived-entry', 'aria-expanded': String(showArchived) },
      h('span', { class: 'chat-main' }, h('span', { class: 'chat-name' }, showArchived ? t('chat_back_to_chats') : t('chat_archived')), unread && !showArchived ? h('span', { class: 'badge muted' }, formatNumber(unread)) : null),
    );
    button.addEventListener('click', () => {
      showArchived = !showArchived;
      renderChats();
    });
    return h('li', {}, button);
  }

  // Right click, a long press or the row's menu button open the chat's menu.
  list.addEventListener('contextmenu', (event) => {
    const row = event.target.closest('[data-testid=chat-item]');
    if (!row) return;
    event.preventDefault();
    menuOf(row.dataset.peer);
  });
  list.addEventListener('click', (event) => {
    const button = event.target.closest('[data-testid=chat-menu-button]');
    if (button) {
      event.preventDefault();
      return menuOf(button.dataset.peer);
    }
    const row = event.target.closest('[data-testid=chat-item]');
    if (row && state.chats.get(row.dataset.peer)?.marked_unread) change(row.dataset.peer, { marked_unread: false });
  });
  let pressTimer = null;
  list.addEventListener('touchstart', (event) => {
    const row = event.target.closest('[data-testid=chat-item]');
    clearTimeout(pressTimer);
    if (row) pressTimer = setTimeout(() => menuOf(row.dataset.peer), 550);
  }, { passive: true });
  for (const type of ['touchend', 'touchmove', 'touchcancel']) list.addEventListener(type, () => clearTimeout(pressTimer), { passive: true });

  function menuOf(peer) {
    const chat = state.chats.get(peer);
    if (chat) openChatMenu(chat);
  }

  search.addEventListener('input', runSearch);
  search.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    search.value = '';
    search.dispatchEvent(new Event('input'));
  });

  const renderSoon = coalesced(renderChats);
  const unsubscribe = [on('chats', renderSoon), on('presence', renderSoon)];
  renderChats();
  return {
    setActive(peer) {
      activePeer = peer;
      renderChats();
    },
    destroy() {
      unsubscribe.forEach((off) => off());
      searchAbort?.abort();
    },
  };
}

// A file message without text: an album's part says what the album is ("Album · 3 photos").
function fileLabel(message) {
  const album = albumOf(message);
  if (album && message.attachment) return t(kindOf(message.attachment) === 'photo' ? 'album_photos' : 'album_files', { count: album.count });
  return attachmentLabel(message.attachment);
}

function unreachableText(error) {
  return error.isNetwork ? t('err_search_unreachable') : apiErrorText(error);
}

function chatItem(chat, active) {
  const last = chat.last_message;
  const peer = chat.peer;
  const online = state.presence.get(peer.username)?.online;
  const draft = active ? null : state.drafts.get(peer.username);
  const preview = draft ?? (!last ? '' : last.deleted ? t('deleted_message') : last.e2ee === 'failed' ? t('e2ee_failed') : withoutOverrides(last.text) || callLabel(last) || fileLabel(last));
  const muted = isMuted(chat);
  const badgeClass = muted ? 'badge muted' : 'badge';
  const unread =
    chat.unread_count > 0
      ? h('span', { class: badgeClass, 'data-testid': 'unread-badge', 'aria-label': t('unread', { count: chat.unread_count }) }, formatNumber(chat.unread_count))
      : chat.marked_unread
        ? h('span', { class: `${badgeClass} marked-unread`, 'data-testid': 'marked-unread-badge', 'aria-label': t('chat_marked_unread') })
        : null;
  const saved = peer.username === state.me?.username;
  const name = saved ? t('saved_messages') : personName(peer);
  const marks = [
    chat.pinned ? h('span', { class: 'chat-mark', 'data-testid': 'pinned-mark', 'aria-label': t('chat_pinned'), role: 'img' }, '📌') : null,
    muted ? h('span', { class: 'chat-mark', 'data-testid': 'muted-mark', 'aria-label': t('chat_muted'), role: 'img' }, '🔕') : null,
  ];
  const menuButton = h('button', { type: 'button', class: 'icon-button chat-menu-button', 'data-testid': 'chat-menu-button', 'data-peer': peer.username, 'aria-label': t('chat_menu', { name }) }, '⋮');
  return h(
    'li',
    { class: 'chat-row', 'data-pinned': String(Boolean(chat.pinned)), 'data-muted': String(muted) },
    h(
      'a',
      {
        href: `#/chat/${encodeURIComponent(peer.username)}`,
        class: 'chat-item',
        'data-testid': 'chat-item',
        'data-peer': peer.username,
        'data-saved': saved ? 'true' : null,
        'aria-current': active ? 'page' : null,
      },
      h('span', { class: 'avatar-wrap' }, avatar(peer), online ? h('span', { class: 'online-dot', 'aria-label': t('online'), role: 'img' }) : null),
      h(
        'span',
        { class: 'chat-main' },
        h('span', { class: 'chat-top' }, h('span', { class: 'chat-name', dir: 'auto' }, name), ...marks, last && isMine(last) ? statusMark(last.status) : null, h('time', { class: 'chat-time', datetime: chat.updated_at || null }, formatListTime(chat.updated_at))),
        h('span', { class: 'chat-bottom' }, h('span', { class: 'chat-preview', dir: 'auto', 'data-testid': 'chat-preview' }, draft ? h('span', { class: 'draft-label' }, `${t('draft')}: `) : last && isMine(last) && !saved ? `${t('you')}: ` : '', preview), unread),
      ),
    ),
    menuButton,
  );
}
