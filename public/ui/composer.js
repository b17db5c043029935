// The message composer: multi-line, Enter sends and Shift+Enter breaks the line (on a touch
// screen, with no Shift key, Enter breaks the line and the button sends), with a bar above it
// while replying to or editing a message.
import { api } from '/api.js';
import { peerState } from '/e2ee.js';
import { t } from '/i18n.js';
import { isMine, setDraft, state } from '/model.js';
import { autoDirection, h, icon } from '/ui/dom.js';
import { emojiPicker } from '/ui/emoji.js';
import { withoutOverrides } from '/ui/format.js';
import { firstWebLink } from '/ui/links.js';
import { attachmentLabel, mediaControls } from '/ui/media.js';
import { chooseFilesToSend } from '/ui/filesend.js';
import { linkPreviewsOn } from '/ui/preferences.js';

const MAX_MESSAGE_LENGTH = 4096;
const MAX_HEIGHT = 160;
const DRAFT_SAVE_AFTER = 300;

const touchKeyboard = () => matchMedia('(hover: none) and (pointer: coarse)').matches;

// Counted as the server counts: in code points, so an emoji is one.
const lengthOf = (text) => [...text].length;

export function createComposer({ peer, peerName, send, edit, typing, lastOwnMessage, sendFiles }) {
  const input = h('textarea', {
    class: 'composer-input',
    'data-testid': 'composer',
    rows: '1',
    placeholder: t('write_message'),
    'aria-label': t('message'),
    'aria-describedby': 'composer-error',
    enterkeyhint: touchKeyboard() ? 'enter' : 'send',
  });
  const tooLong = h('p', { class: 'composer-error', id: 'composer-error', role: 'alert', 'data-testid': 'composer-error', hidden: true });
  const sendButton = h('button', { type: 'submit', class: 'send-button', 'data-testid': 'send-button', 'aria-label': t('send') }, icon('send'));
  const contextTitle = h('span', { class: 'context-title' });
  const contextText = h('span', { class: 'context-text', dir: 'auto' });
  const cancel = h('button', { type: 'button', class: 'icon-button', 'aria-label': t('cancel'), 'data-testid': 'composer-cancel' }, icon('close'));
  const contextBar = h('div', { class: 'composer-context', 'data-testid': 'composer-context', hidden: true }, h('span', { class: 'context-body' }, contextTitle, contextText), cancel);
  // Files take the typed text as their caption; a voice note goes alone.
  // Picked, pasted or dropped files wait in the send dialog (caption, compressed or as files).
  const chooseAndSend = async (files) => {
    const chosen = await chooseFilesToSend(files, mode?.edit ? '' : input.value.trim());
    if (!chosen) return;
    if (!mode?.edit) takeCaption();
    sendFiles(chosen.files, chosen.caption, { asFile: chosen.asFiles });
  };
  const media = mediaControls({ input, onFiles: chooseAndSend, onVoice: (blob, name) => sendFiles([new File([blob], name, { type: blob.type })], '') });
  const emoji = emojiPicker(input);
  const previews = linkPreviewer(peer);
  const form = h('form', { class: 'composer', 'aria-label': t('message') }, contextBar, previews.element, tooLong, media.recorderBar, emoji.panel, h('div', { class: 'composer-row' }, media.attach, emoji.button, input, media.mic, sendButton), media.picker);

  let mode = null; // null, {reply: message} or {edit: message}
  const updateDirection = autoDirection(input);

  // What was being written in this chat stays, across chats and reloads (IndexedDB, per account).
  let draftTimer = null;
  function saveDraft() {
    clearTimeout(draftTimer);
    if (!mode?.edit) setDraft(peer, input.value.trim() ? input.value : '');
  }
  window.addEventListener('pagehide', saveDraft);

  function checkLength() {
    const over = lengthOf(input.value.trim()) > MAX_MESSAGE_LENGTH;
    if (over === !tooLong.hidden) return over;
    tooLong.hidden = !over;
    tooLong.textContent = over ? t('too_long', { max: MAX_MESSAGE_LENGTH }) : '';
    input.setAttribute('aria-invalid', over ? 'true' : 'false');
    return over;
  }

  function resize() {
    updateDirection();
    // As in Telegram: the microphone while there is nothing to send, the send button once there is.
    form.dataset.empty = input.value.trim() ? 'false' : 'true';
    checkLength();
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, MAX_HEIGHT)}px`;
  }

  function setMode(next) {
    mode = next;
    contextBar.hidden = !mode;
    form.dataset.mode = mode?.edit ? 'edit' : mode?.reply ? 'reply' : '';
    if (!mode) return;
    const message = mode.edit ?? mode.reply;
    contextTitle.textContent = mode.edit ? t('editing_message') : t('replying_to', { name: isMine(message) ? t('you') : peerName() });
    contextText.textContent = message.text || attachmentLabel(message.attachment);
  }

  function reset() {
    input.value = '';
    previews.clear();
    setMode(null);
    resize();
    saveDraft();
  }

  async function submit() {
    const text = input.value.trim();
    if (!text || checkLength()) return;
    const current = mode;
    const preview = current?.edit ? null : previews.take(text);
    reset();
    if (current?.edit) {
      if (text !== current.edit.text) await edit(current.edit, text);
      return;
    }
    await send(text, current?.reply?.id ?? null, preview);
  }

  function takeCaption() {
    if (mode?.edit) return '';
    const caption = input.value.trim().slice(0, MAX_MESSAGE_LENGTH);
    reset();
    return caption;
  }

  function startEdit(message) {
    setMode({ edit: message });
    input.value = message.text;
    resize();
    input.focus();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    emoji.close(false);
    submit();
    input.focus();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !touchKeyboard()) {
      event.preventDefault();
      submit();
    } else if (event.key === 'ArrowUp' && !input.value && !mode) {
      // As in Telegram: the up arrow in an empty composer edits your last message.
      const last = lastOwnMessage();
      if (!last) return;
      event.preventDefault();
      startEdit(last);
    } else if (event.key === 'Escape' && mode) {
      if (mode.edit) input.value = '';
      setMode(null);
      resize();
    }
  });
  input.addEventListener('input', () => {
    resize();
    // Editing an old message is not writing a new one: the other side is not told.
    if (input.value.trim() && !mode?.edit) typing();
    if (!mode?.edit) previews.textChanged(input.value);
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, DRAFT_SAVE_AFTER);
  });
  cancel.addEventListener('click', () => {
    if (mode?.edit) input.value = '';
    setMode(null);
    resize();
    input.focus();
  });

  input.value = state.drafts.get(peer) ?? '';
  form.dataset.empty = input.value.trim() ? 'false' : 'true';
  if (input.value) queueMicrotask(resize); // measured once the form is on the page

  return {
    element: form,
    focus: () => input.focus(),
    startReply(message) {
      setMode({ reply: message });
      input.focus();
    },
    startEdit,
    destroy() {
      window.removeEventListener('pagehide', saveDraft);
      emoji.destroy();
      previews.clear();
      saveDraft();
    },
    acceptDrops: media.acceptDrops,
  };
}

const PREVIEW_AFTER = 700; // ms of quiet typing before a link's preview is asked for

// The preview of the first link being written, above the text: asked of the server (which fetches
// the page) only in an end-to-end encrypted chat, where it then travels sealed inside the message,
// and only while link previews are on (Settings); the cross drops it for this link.
function linkPreviewer(peer) {
  const title = h('span', { class: 'link-preview-title', dir: 'auto', 'data-testid': 'link-preview-draft-title' });
  const remove = h('button', { type: 'button', class: 'icon-button', 'data-testid': 'link-preview-remove', 'aria-label': t('link_preview_remove') }, icon('close'));
  const element = h('div', { class: 'composer-context link-preview-draft', 'data-testid': 'link-preview-draft', hidden: true }, h('span', { class: 'context-body' }, h('span', { class: 'context-title' }, t('link_preview')), title), remove);
  const dismissed = new Set();
  let shown = null; // {url, preview}
  let timer = null;
  let asking = null;

  function show(found) {
    shown = found;
    element.hidden = !found;
    title.textContent = found ? withoutOverrides(found.preview.title) : '';
  }

  function textChanged(text) {
    clearTimeout(timer);
    const url = firstWebLink(text);
    if (!url || dismissed.has(url) || !linkPreviewsOn() || peerState(peer).encrypted !== true) return show(null);
    if (shown?.url === url) return;
    timer = setTimeout(async () => {
      asking?.abort();
      const controller = new AbortController();
      asking = controller;
      try {
        const preview = await api.linkPreview(url, controller.signal);
        if (asking === controller && !dismissed.has(url)) show({ url, preview });
      } catch {
        if (asking === controller) show(null); // no preview: the message goes without one
      }
    }, PREVIEW_AFTER);
  }

  remove.addEventListener('click', () => {
    if (shown) dismissed.add(shown.url);
    show(null);
  });

  return {
    element,
    textChanged,
    // The preview to send with `text`: the one shown, when its link is still the text's first.
    take(text) {
      const found = shown && firstWebLink(text) === shown.url ? shown.preview : null;
      return found && peerState(peer).encrypted === true ? found : null;
    },
    clear() {
      clearTimeout(timer);
      asking?.abort();
      asking = null;
      show(null);
    },
  };
}
