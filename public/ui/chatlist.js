// The sidebar's chat list, with search: people (username or name) and messages of all chats.
import { api } from '/api.js';
import { on } from '/events.js';
import { locale, t } from '/i18n.js';
import { ensureChat, isMine, peerOf, sortedChats, state } from '/model.js';
import { autoDirection, h, icon } from '/ui/dom.js';
import { avatar, formatListTime, statusMark } from '/ui/format.js';
import { attachmentLabel } from '/ui/media.js';

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
  const empty = h('p', { class: 'empty-note' });
  container.replaceChildren(
    h('header', { class: 'sidebar-header' }, settingsLink, h('div', { class: 'search-box' }, icon('search'), search)),
    h('h1', { class: 'visually-hidden' }, t('chats')),
    h('div', { class: 'sidebar-body' }, list, peopleHeading, results, messagesHeading, messageResults, empty),
  );

  let activePeer = state.openPeer;
  let searchAbort = null;
  let searchTimer = null;

  function renderChats() {
    // A chat opened from search shows up once it has a message or a draft, or while it is open.
    const chats = sortedChats().filter((chat) => chat.last_message || chat.peer.username === activePeer || state.drafts.has(chat.peer.username));
    list.replaceChildren(...chats.map((chat) => chatItem(chat, chat.peer.username === activePeer)));
    const unread = chats.reduce((total, chat) => total + (chat.unread_count || 0), 0);
    document.title = unread ? `(${unread.toLocaleString(locale())}) ${t('app_name')}` : t('app_name');
    updateEmpty();
  }

  function updateEmpty() {
    const searching = list.hidden;
    const found = results.childElementCount + messageResults.childElementCount;
    const text = searching ? (found ? '' : t('no_results')) : list.childElementCount ? '' : t('no_chats');
    empty.textContent = text;
    empty.hidden = !text;
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
      const [people, found] = await Promise.all([
        person ? api.searchUsers(person, signal).then((answer) => answer.users, () => []) : [],
        api.search(query, {}, signal).then((answer) => answer.messages, () => []),
      ]);
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
        h('span', { class: 'chat-preview', dir: 'auto' }, isMine(message) ? `${t('you')}: ` : '', message.text || attachmentLabel(message.attachment)),
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

  search.addEventListener('input', runSearch);
  search.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    search.value = '';
    search.dispatchEvent(new Event('input'));
  });

  const unsubscribe = [on('chats', renderChats), on('presence', renderChats)];
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

function chatItem(chat, active) {
  const last = chat.last_message;
  const peer = chat.peer;
  const online = state.presence.get(peer.username)?.online;
  const draft = active ? null : state.drafts.get(peer.username);
  const preview = draft ?? (!last ? '' : last.deleted ? t('deleted_message') : last.text || attachmentLabel(last.attachment));
  const unread = chat.unread_count > 0 ? h('span', { class: 'badge', 'data-testid': 'unread-badge', 'aria-label': t('unread', { count: chat.unread_count }) }, chat.unread_count.toLocaleString(locale())) : null;
  return h(
    'li',
    {},
    h(
      'a',
      {
        href: `#/chat/${encodeURIComponent(peer.username)}`,
        class: 'chat-item',
        'data-testid': 'chat-item',
        'data-peer': peer.username,
        'aria-current': active ? 'page' : null,
      },
      h('span', { class: 'avatar-wrap' }, avatar(peer), online ? h('span', { class: 'online-dot', 'aria-label': t('online'), role: 'img' }) : null),
      h(
        'span',
        { class: 'chat-main' },
        h('span', { class: 'chat-top' }, h('span', { class: 'chat-name', dir: 'auto' }, peer.display_name || peer.username), last && isMine(last) ? statusMark(last.status) : null, h('time', { class: 'chat-time', datetime: chat.updated_at || null }, formatListTime(chat.updated_at))),
        h('span', { class: 'chat-bottom' }, h('span', { class: 'chat-preview', dir: 'auto', 'data-testid': 'chat-preview' }, draft ? h('span', { class: 'draft-label' }, `${t('draft')}: `) : last && isMine(last) ? `${t('you')}: ` : '', preview), unread),
      ),
    ),
  );
}
