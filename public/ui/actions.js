// What can be done to a message beyond reply, edit and copy: delete (asked first) and forward.
import { t } from '/i18n.js';
import * as model from '/model.js';
import { discardFailed, queueMessage } from '/outbox.js';
import { deleteMessage, hideMessage } from '/session.js';
import { ask } from '/ui/dialog.js';
import { h } from '/ui/dom.js';
import { avatar } from '/ui/format.js';

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

// Sends one message's text to `target`, marked as forwarded from its first author.
export function forwardTo(target, message) {
  return queueMessage(target, message.text, null, null, { of: message.id, from: message.forwarded_from ?? message.sender, file: Boolean(message.attachment), sealed: Boolean(message.envelope) });
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
