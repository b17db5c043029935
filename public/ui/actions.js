// What can be done to a message beyond reply, edit and copy: delete (asked first) and forward.
import { newAttachment } from '/attachments.js';
import { willSeal } from '/e2ee.js';
import { t } from '/i18n.js';
import * as model from '/model.js';
import { discardFailed, queueMessage } from '/outbox.js';
import { deleteMessage, hideMessage } from '/session.js';
import { ask } from '/ui/dialog.js';
import { h } from '/ui/dom.js';
import { avatar } from '/ui/format.js';
import { fileBlob } from '/ui/media.js';

// Own messages can go for both sides; anyone's can go from one's own view only.
export async function confirmDelete(message) {
  if (message.id == null) return discardFailed(message);
  const answers = model.canHideForMe(message) ? [{ label: t('delete_for_me'), value: 'me' }] : [];
  if (model.isMine(message)) answers.push({ label: t('delete_for_both'), value: 'both', danger: true });
  const answer = await ask({ title: t('delete_title'), text: t('delete_text'), answers });
  if (answer === 'both') await deleteMessage(message.id);
  else if (answer === 'me') await hideMessage(message);
}

// Picks one of the chats and sends the message's text there, marked as forwarded.
export async function forward(message) {
  const target = await chooseChat();
  if (target) await forwardTo(target, message);
  return target;
}

// Sends one message to `target`, marked as forwarded from its first author. The server copies a
// plaintext file between plaintext chats; a sealed file, or any file going into an encrypted chat,
// is opened on this device and sent again (sealed there under a key of its own).
export async function forwardTo(target, message) {
  const from = message.forwarded_from ?? message.sender;
  const file = message.attachment;
  if (file && !file.local && (message.envelope || (await willSeal(target).catch(() => true)))) {
    const blob = await fileBlob(file);
    const typed = new Blob([blob], { type: file.mime || blob.type || 'application/octet-stream' });
    return queueMessage(target, message.text, null, newAttachment(typed, file.name), { of: null, from }, null);
  }
  return queueMessage(target, message.text, null, null, { of: message.id, from, file: Boolean(file), sealed: Boolean(message.envelope) });
}

// The forward dialog: resolves with the chosen chat's username, or null.
export async function chooseChat() {
  const me = model.state.me;
  const chats = model.sortedChats();
  if (!chats.some((chat) => chat.peer.username === me.username)) chats.unshift({ peer: me }); // Saved Messages
  const dialog = h(
    'dialog',
    { class: 'dialog chooser', 'data-testid': 'forward-dialog', 'aria-labelledby': 'forward-title' },
    h('h2', { id: 'forward-title', class: 'dialog-title' }, t('forward_to')),
    h(
      'ul',
      { class: 'chat-list' },
      chats.map((chat) =>
        h(
          'li',
          {},
          h(
            'button',
            { type: 'button', class: 'chat-item chooser-item', 'data-peer': chat.peer.username, 'data-testid': 'forward-target' },
            avatar(chat.peer),
            h('span', { class: 'chat-name', dir: 'auto' }, chat.peer.username === me.username ? t('saved_messages') : chat.peer.display_name || chat.peer.username),
          ),
        ),
      ),
    ),
    h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'forward-cancel', value: '' }, t('cancel'))),
  );
  document.body.append(dialog);
  dialog.showModal();
  const target = await new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(null));
    dialog.addEventListener('click', (event) => {
      const button = event.target.closest('button');
      if (event.target === dialog || button) resolve(button?.dataset.peer ?? null);
    });
  });
  dialog.close();
  dialog.remove();
  return target;
}
