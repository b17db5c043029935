// "Message info" for one of your own messages: when it was sent (and edited), and whether it was
// delivered and read. The server keeps the time a message was sent but not the times of its
// receipts, only how far they got, so delivered and read are said without a time.
import { locale, t } from '/i18n.js';
import { on } from '/events.js';
import { messageKey } from '/model.js';
import { h } from '/ui/dom.js';

const RANK = { pending: 0, failed: 0, sent: 1, delivered: 2, read: 3 };

function fullTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'medium' }).format(date);
}

function row(name, label, value, done) {
  return h(
    'div',
    { class: 'info-row', 'data-testid': `message-info-${name}`, 'data-done': done ? 'true' : 'false' },
    h('dt', {}, label),
    h('dd', {}, value),
  );
}

// The rows for a message as the client knows it now.
export function infoRows(message) {
  const rank = RANK[message.status] ?? 0;
  const rows = [row('sent', t('info_sent'), fullTime(message.created_at), true)];
  if (message.edited_at) rows.push(row('edited', t('info_edited'), fullTime(message.edited_at), true));
  rows.push(row('delivered', t('info_delivered'), rank >= 2 ? t('info_yes') : t('info_not_yet'), rank >= 2));
  rows.push(row('read', t('info_read'), rank >= 3 ? t('info_yes') : t('info_not_yet'), rank >= 3));
  return rows;
}

// `latest()` gives the message as it is now: a receipt arriving while the dialog is open shows.
export function openMessageInfo(message, latest = () => message) {
  const returnFocus = document.activeElement;
  const closeButton = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'message-info-close' }, t('close'));
  const list = h('dl', { class: 'info-list' }, infoRows(message));
  const off = on('messages', () => list.replaceChildren(...infoRows(latest() ?? message)));
  const dialog = h(
    'dialog',
    { class: 'dialog', 'data-testid': 'message-info', 'aria-labelledby': 'message-info-title' },
    h('h2', { id: 'message-info-title', class: 'dialog-title' }, t('message_info')),
    message.text ? h('p', { class: 'dialog-text info-quote', dir: 'auto' }, message.text) : null,
    list,
    h('p', { class: 'field-hint' }, t('info_no_receipt_times')),
    h('div', { class: 'dialog-actions' }, closeButton),
  );
  document.body.append(dialog);
  dialog.showModal();
  closeButton.focus();
  return new Promise((resolve) => {
    const close = () => {
      off();
      dialog.close();
      dialog.remove();
      // The menu that opened the dialog is gone: back to the message's own button.
      const target = returnFocus?.isConnected && returnFocus !== document.body ? returnFocus : document.querySelector(`.msg[data-key="${CSS.escape(messageKey(message))}"] .msg-actions`);
      target?.focus();
      resolve();
    };
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close();
    });
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog || event.target === closeButton) close();
    });
  });
}
