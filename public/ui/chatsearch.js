// Search inside one chat: a field under the header and a list of matches; picking one jumps
// to it with its surrounding messages loaded.
import { api } from '/api.js';
import { mergeHits, searchSealed } from '/localsearch.js';
import { t } from '/i18n.js';
import { autoDirection, h, icon } from '/ui/dom.js';
import { formatListTime } from '/ui/format.js';
import { attachmentLabel } from '/ui/media.js';

const DEBOUNCE = 250;
const PAGE = 20;

export function createChatSearch({ peer, jumpTo, close }) {
  const input = h('input', { type: 'search', class: 'search-input', 'data-testid': 'chat-search-input', placeholder: t('search_chat'), 'aria-label': t('search_chat'), autocomplete: 'off', enterkeyhint: 'search' });
  autoDirection(input);
  const closeButton = h('button', { type: 'button', class: 'icon-button', 'aria-label': t('close_search'), 'data-testid': 'chat-search-close' }, icon('close'));
  const results = h('ul', { class: 'search-hits', 'data-testid': 'chat-search-results', 'aria-label': t('search_results'), hidden: true });
  const note = h('p', { class: 'search-note', role: 'status' });
  const element = h('div', { class: 'chat-search', hidden: true }, h('div', { class: 'chat-search-row' }, h('div', { class: 'search-box' }, icon('search'), input), closeButton), note, results);
  let timer = null;
  let abort = null;

  function hide() {
    element.hidden = true;
    input.value = '';
    results.replaceChildren();
    results.hidden = true;
    note.textContent = '';
    abort?.abort();
    close();
  }

  async function run() {
    clearTimeout(timer);
    abort?.abort();
    const query = input.value.trim();
    if (!query) {
      results.hidden = true;
      note.textContent = '';
      return;
    }
    timer = setTimeout(() => {
      results.replaceChildren();
      loadPage(query, null);
    }, DEBOUNCE);
  }

  // One page of hits (newest first); "more" asks for the page before the last hit.
  async function loadPage(query, before) {
    abort = new AbortController();
    try {
      const fromServer = await api.search(query, { peer, before, limit: PAGE }, abort.signal);
      // Sealed messages never reach the server's index: they are found on this device.
      const answer = mergeHits(fromServer, await searchSealed(query, { peer, before, limit: PAGE + 1 }), PAGE);
      if (abort.signal.aborted) return;
      results.querySelector('.search-more')?.remove();
      results.append(...answer.messages.map(hit));
      const last = answer.messages.at(-1);
      if (answer.has_more && last) results.append(moreButton(query, last.id));
      const count = results.querySelectorAll('.search-hit').length;
      results.hidden = !count;
      note.textContent = count ? t(answer.has_more ? 'search_found_more' : 'search_found', { count }) : t('no_messages_found');
    } catch (error) {
      if (error.name !== 'AbortError') note.textContent = t('err_network');
    }
  }

  function moreButton(query, before) {
    const button = h('button', { type: 'button', class: 'link-button', 'data-testid': 'chat-search-more' }, t('more_results'));
    button.addEventListener('click', () => {
      button.disabled = true;
      loadPage(query, before);
    });
    return h('li', { class: 'search-more' }, button);
  }

  function hit(message) {
    const button = h(
      'button',
      { type: 'button', class: 'search-hit', 'data-testid': 'chat-search-hit', 'data-id': message.id },
      h('span', { class: 'search-hit-text', dir: 'auto' }, message.text || attachmentLabel(message.attachment)),
      h('time', { class: 'chat-time', datetime: message.created_at }, formatListTime(message.created_at)),
    );
    button.addEventListener('click', () => {
      results.hidden = true;
      jumpTo(message.id);
    });
    return h('li', {}, button);
  }

  input.addEventListener('input', run);
  input.addEventListener('focus', () => results.childElementCount && (results.hidden = false));
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') hide();
    else if (event.key === 'Enter') results.querySelector('button')?.click();
  });
  closeButton.addEventListener('click', hide);

  return {
    element,
    open() {
      element.hidden = false;
      input.focus();
    },
    destroy() {
      clearTimeout(timer);
      abort?.abort();
    },
  };
}
