// Selecting several messages of one chat, as in Telegram: the message menu's "Select" (or a long
// press or right click on a phone's menu) starts it, tapping bubbles adds or removes them, and a
// bar in place of the chat's header counts them and copies, forwards or deletes them in order.
// Escape, the bar's close button or the browser's back leave it.
import { locale, t } from '/i18n.js';
import * as model from '/model.js';
import { deleteMessage, hideMessage } from '/session.js';
import { chooseChat, forwardTo } from '/ui/actions.js';
import { ask } from '/ui/dialog.js';
import { h, icon, toast } from '/ui/dom.js';
import { formatNumber } from '/ui/format.js';
import { attachmentLabel } from '/ui/media.js';

// Only messages the server has, still there, can be picked.
export function selectable(message) {
  return message != null && message.id != null && !message.deleted;
}

// What a copied message reads like: "Name, [day time]" then its text, as Telegram copies them.
export function copiedText(messages, nameOf) {
  const when = new Intl.DateTimeFormat(locale(), { dateStyle: 'short', timeStyle: 'short' });
  return messages
    .map((message) => {
      const body = message.call ? t('call_audio') : message.text || attachmentLabel(message.attachment);
      return `${nameOf(message.sender)}, [${when.format(new Date(message.created_at))}]\n${body}`;
    })
    .join('\n\n');
}

export function createSelection({ peer, log, header, nameOf, onForwarded }) {
  const keys = new Set();
  const count = h('span', { class: 'selection-count', 'data-testid': 'selection-count', 'aria-live': 'polite' });
  const close = h('button', { type: 'button', class: 'icon-button', 'data-testid': 'selection-cancel', 'aria-label': t('selection_cancel') }, icon('close'));
  const button = (name, label, onclick) => h('button', { type: 'button', class: `selection-action selection-${name}`, 'data-testid': `selection-${name}`, onclick }, label);
  const copyButton = button('copy', t('copy'), copySelected);
  const forwardButton = button('forward', t('forward'), forwardSelected);
  const deleteButton = button('delete', t('delete'), deleteSelected);
  const bar = h('div', { class: 'selection-bar', role: 'toolbar', 'aria-label': t('selection'), 'data-testid': 'selection-bar', hidden: true }, close, count, copyButton, forwardButton, deleteButton);
  let active = false;
  close.addEventListener('click', () => stop());

  // The chat's messages that are picked, oldest first (the conversation keeps them in order).
  function chosen() {
    return model.conversation(peer).messages.filter((message) => keys.has(model.messageKey(message)) && selectable(message));
  }

  function start(message) {
    if (!selectable(message)) return;
    if (!active) {
      active = true;
      history.pushState({ ...history.state, selecting: true }, '');
      window.addEventListener('popstate', onPopState);
      document.addEventListener('keydown', onKey);
    }
    keys.add(model.messageKey(message));
    paint();
    close.focus();
  }

  // Leaves selection mode; with `fromHistory` the back entry is already gone.
  function stop(fromHistory = false) {
    if (!active) return Promise.resolve();
    active = false;
    keys.clear();
    window.removeEventListener('popstate', onPopState);
    document.removeEventListener('keydown', onKey);
    paint();
    if (fromHistory || !history.state?.selecting) return Promise.resolve();
    return new Promise((resolve) => {
      window.addEventListener('popstate', resolve, { once: true });
      history.back();
    });
  }

  function onPopState() {
    if (!history.state?.selecting) stop(true);
  }

  function onKey(event) {
    if (event.key !== 'Escape' || document.querySelector('dialog[open]')) return;
    event.preventDefault();
    stop();
  }

  function toggle(bubble) {
    const message = model.findMessage(peer, bubble.dataset.key);
    if (!selectable(message)) return;
    const key = model.messageKey(message);
    if (keys.has(key)) keys.delete(key);
    else keys.add(key);
    if (!keys.size) return stop();
    paint();
  }

  // Marks the picked bubbles; called again after every redraw of the log.
  function paint() {
    bar.hidden = !active;
    header.hidden = active;
    log.classList.toggle('selecting', active);
    const picked = chosen();
    count.textContent = t('selected_count', { count: formatNumber(picked.length) });
    forwardButton.disabled = !picked.some((message) => !message.call);
    deleteButton.disabled = !picked.every((message) => model.isMine(message) || model.canHideForMe(message));
    for (const bubble of log.querySelectorAll('.msg')) {
      const on = active && keys.has(bubble.dataset.key);
      bubble.classList.toggle('selected', on);
      const actions = bubble.querySelector('.msg-actions');
      if (!actions) continue;
      if (active) {
        actions.setAttribute('aria-pressed', on ? 'true' : 'false');
        actions.setAttribute('aria-label', t('select_message'));
        actions.removeAttribute('aria-haspopup');
      } else if (actions.hasAttribute('aria-pressed')) {
        actions.removeAttribute('aria-pressed');
        actions.setAttribute('aria-label', t('message_actions'));
        actions.setAttribute('aria-haspopup', 'menu');
      }
    }
  }

  // While selecting, a tap (or Enter on a bubble's button) picks instead of acting.
  function onClick(event) {
    if (!active) return;
    const bubble = event.target.closest('.msg');
    event.preventDefault();
    event.stopPropagation();
    if (bubble) toggle(bubble);
  }
  log.addEventListener('click', onClick, true);

  async function copySelected() {
    const text = copiedText(chosen(), nameOf);
    try {
      await navigator.clipboard.writeText(text);
      toast(t('copied'));
    } catch {
      toast(t('copy_failed'));
    }
    await stop();
  }

  async function forwardSelected() {
    const picked = chosen().filter((message) => !message.call);
    const target = await chooseChat();
    if (!target) return;
    await stop();
    for (const message of picked) await forwardTo(target, message);
    onForwarded(target);
  }

  // "For both" only when every picked message is one's own; else "for me" where the server allows.
  async function deleteSelected() {
    const picked = chosen();
    const answers = [];
    if (picked.every((message) => model.canHideForMe(message))) answers.push({ label: t('delete_for_me'), value: 'me' });
    if (picked.every((message) => model.isMine(message))) answers.push({ label: t('delete_for_both'), value: 'both', danger: true });
    const answer = await ask({ title: t('delete_selected_title', { count: formatNumber(picked.length) }), text: t('delete_text'), answers });
    if (!answer) return;
    await stop();
    let failed = 0;
    for (const message of picked) {
      try {
        if (answer === 'both') await deleteMessage(message.id);
        else await hideMessage(message);
      } catch {
        failed += 1;
      }
    }
    if (failed) toast(t('delete_some_failed', { count: formatNumber(failed) }));
  }

  return {
    element: bar,
    get active() {
      return active;
    },
    start,
    toggle,
    paint,
    destroy() {
      log.removeEventListener('click', onClick, true);
      window.removeEventListener('popstate', onPopState);
      document.removeEventListener('keydown', onKey);
    },
  };
}
