// One message bubble, and the small menu of what can be done with it.
import { t } from '/i18n.js';
import { canHideForMe, isMine, messageKey, state } from '/model.js';
import { h, icon } from '/ui/dom.js';
import { formatTime, statusMark, withoutOverrides } from '/ui/format.js';
import { renderCallEntry } from '/ui/callentry.js';
import { linkify } from '/ui/links.js';
import { albumOf, rowSizes } from '/ui/albums.js';
import { attachmentLabel, attachmentSignature, kindOf, renderAttachment } from '/ui/media.js';

// What a bubble shows apart from its status mark; when it changes the bubble is drawn again.
export function bubbleSignature(message, replied, peerName, forwardedName, chatEncrypted = null) {
  const sent = message.id != null;
  const failed = message.status === 'failed';
  const quote = message.reply_to != null ? [replied?.sender, replied?.text, replied?.deleted, replied?.missing, peerName] : [];
  const reactions = (message.reactions ?? []).map((reaction) => `${reaction.user}:${reaction.emoji ?? ''}`).join(',');
  return [sent, failed, message.text, message.e2ee, Boolean(message.envelope), encryptionMark(message, chatEncrypted), message.call?.outcome, message.edited_at, message.deleted, forwardedName, attachmentSignature(message), reactions, Boolean(message.pinned_at), message.preview?.url, ...quote].join('\u0000');
}

// A link's preview as the sender's device made it: its picture came inside the message, so
// showing it contacts nobody; the card opens the link as the text's own link does.
function previewCard(preview) {
  let picture = null;
  if (preview.image) {
    try {
      const bytes = Uint8Array.from(atob(preview.image.data.replace(/-/g, '+').replace(/_/g, '/')), (char) => char.charCodeAt(0));
      picture = h('img', { class: 'link-preview-image', 'data-testid': 'link-preview-image', alt: '', src: URL.createObjectURL(new Blob([bytes], { type: 'image/jpeg' })) });
      if (preview.image.width && preview.image.height) picture.style.aspectRatio = `${preview.image.width} / ${preview.image.height}`;
    } catch {
      picture = null;
    }
  }
  return h(
    'a',
    { class: 'link-preview', 'data-testid': 'link-preview', href: preview.url, target: '_blank', rel: 'noopener noreferrer' },
    preview.site_name ? h('span', { class: 'link-preview-site', dir: 'auto', 'data-testid': 'link-preview-site' }, withoutOverrides(preview.site_name)) : null,
    h('span', { class: 'link-preview-title', dir: 'auto', 'data-testid': 'link-preview-title' }, withoutOverrides(preview.title)),
    preview.description ? h('span', { class: 'link-preview-description', dir: 'auto', 'data-testid': 'link-preview-description' }, withoutOverrides(preview.description)) : null,
    picture,
  );
}

// The quick row of the message menu; the rest of the emoji set is one tap further.
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

// Under the text: each emoji reacted with, how many reacted so (in a chat of two: one or two),
// mine marked; a tap on one takes mine back or joins it.
function reactionsRow(message, peerName) {
  const groups = new Map();
  for (const reaction of message.reactions ?? []) if (reaction.emoji) groups.set(reaction.emoji, [...(groups.get(reaction.emoji) ?? []), reaction.user]);
  if (!groups.size || message.deleted) return null;
  const me = state.me?.username;
  return h(
    'div',
    { class: 'reactions', 'data-testid': 'reactions' },
    [...groups].map(([emoji, users]) => {
      const mine = users.includes(me);
      const names = users.map((user) => (user === me ? t('you') : peerName)).join('، ');
      return h(
        'button',
        { type: 'button', class: `reaction${mine ? ' mine' : ''}`, 'data-testid': 'reaction', 'data-emoji': emoji, 'data-count': String(users.length), 'aria-pressed': String(mine), 'aria-label': t('reaction_by', { emoji, names }), title: names },
        h('span', { class: 'reaction-emoji', 'aria-hidden': 'true' }, emoji),
        users.length > 1 ? h('span', { class: 'reaction-count', 'aria-hidden': 'true' }, users.length.toLocaleString()) : null,
      );
    }),
  );
}

// A new status changes only the mark, so an open menu or the focus inside the bubble stays.
export function updateStatus(element, message) {
  if (element.dataset.status === message.status) return;
  element.dataset.status = message.status;
  element.dataset.id = message.id ?? '';
  element.querySelector('.meta .status')?.replaceWith(statusMark(message.status));
}

// A plaintext message says so: in a chat that is encrypted now it came before that; in a chat
// with someone without keys nothing is end-to-end encrypted. An encrypted message's file that went
// up in the clear (sent before files were sealed) says so.
function encryptionMark(message, chatEncrypted) {
  if (message.deleted || message.call) return null;
  if (message.envelope) return message.attachment && !message.attachment.sealed ? 'file' : null;
  if (chatEncrypted === true) return message.id != null ? 'before' : null;
  if (chatEncrypted === false) return 'off';
  return null;
}

const MARKS = {
  before: ['e2ee_before', 'before-encryption'],
  off: ['e2ee_message_off', 'message-not-encrypted'],
  file: ['e2ee_file_off', 'file-not-encrypted'],
};

export function renderBubble(message, { replied, peerName, forwardedName, chatEncrypted = null }) {
  const children = [];
  if (forwardedName && !message.deleted) {
    children.push(h('p', { class: 'forwarded', 'data-testid': 'forwarded-from', dir: 'auto' }, t('forwarded_from', { name: forwardedName })));
  }
  if (message.reply_to != null && !message.deleted) children.push(replyQuote(message.reply_to, replied, peerName));
  if (message.deleted) {
    children.push(h('p', { class: 'text deleted', 'data-testid': 'message-text', dir: 'auto' }, t('deleted_message')));
  } else if (message.call) {
    children.push(renderCallEntry(message));
  } else if (message.e2ee === 'failed' || message.e2ee === 'unsupported') {
    // Never the bytes as text: what failed to open says only that.
    const failed = message.e2ee === 'failed';
    children.push(h('p', { class: 'text undecryptable', 'data-testid': failed ? 'message-undecryptable' : 'message-unsupported', dir: 'auto' }, t(failed ? 'e2ee_failed' : 'e2ee_unsupported')));
  } else {
    if (message.attachment) children.push(renderAttachment(message));
    if (message.text || !message.attachment) children.push(h('p', { class: 'text', 'data-testid': 'message-text', dir: 'auto' }, linkify(withoutOverrides(message.text))));
  }
  if (message.preview && !message.deleted && message.e2ee === 'opened') children.push(previewCard(message.preview));
  return framed(message, children, { peerName, chatEncrypted });
}

// What every bubble ends with (reactions, the encryption mark, time and ticks) and its frame.
// `about` is the message it speaks for (an album's first part), `last` the one whose time and
// status it shows, `attributes` what the frame says besides.
function framed(about, children, { peerName, chatEncrypted, last = about, status = about.status, attributes = {} }) {
  const mine = isMine(about);
  const reactions = reactionsRow(about, peerName);
  if (reactions) children.push(reactions);
  const mark = encryptionMark(about, chatEncrypted);
  if (mark) children.push(h('p', { class: `e2ee-mark e2ee-mark-${mark}`, 'data-testid': MARKS[mark][1] }, t(MARKS[mark][0])));
  children.push(
    h(
      'span',
      { class: 'meta' },
      about.pinned_at && !about.deleted ? h('span', { class: 'pinned-mark', 'data-testid': 'pinned-mark', title: t('pinned'), 'aria-label': t('pinned') }, '📌') : null,
      about.edited_at && !about.deleted ? h('span', { class: 'edited', 'data-testid': 'edited' }, t('edited')) : null,
      h('time', { datetime: last.created_at }, formatTime(last.created_at)),
      mine ? statusMark(status) : null,
    ),
  );
  const canAct = !about.deleted && (about.id != null || about.status === 'failed');
  const actions = !canAct ? null : h('button', { type: 'button', class: 'msg-actions', 'data-testid': 'message-actions', 'aria-label': t('message_actions'), 'aria-haspopup': 'menu', 'aria-expanded': 'false' }, icon('more'));
  return h(
    'div',
    {
      class: `msg ${mine ? 'mine' : 'theirs'}`,
      'data-testid': 'message',
      'data-key': messageKey(about),
      'data-id': last.id ?? '',
      'data-client-id': about.client_id,
      'data-status': status,
      'data-deleted': about.deleted ? 'true' : 'false',
      'data-encrypted': about.envelope ? 'true' : 'false',
      ...attributes,
    },
    h('div', { class: 'bubble' }, children),
    actions,
  );
}

// ---- albums --------------------------------------------------------------------------------

const STATUS_ORDER = ['failed', 'pending', 'sent', 'delivered', 'read'];

// An album's ticks: those of its least advanced part.
export function albumStatus(parts) {
  return parts.map((part) => part.status).reduce((least, status) => (STATUS_ORDER.indexOf(status) < STATUS_ORDER.indexOf(least) ? status : least));
}

export function albumSignature(parts, replied, peerName, forwardedName, chatEncrypted) {
  return parts.map((part, index) => (index ? bubbleSignature(part, null, peerName, null, chatEncrypted) : bubbleSignature(part, replied, peerName, forwardedName, chatEncrypted))).join('\u0001');
}

// The parts of one album that have arrived, as one bubble: the photos in a grid (each opens the
// viewer), any other files stacked under it, the caption under them, one time and ticks line.
// The first part speaks for the album (its menu, reply, reactions); each tile and file names its
// own part (data-part-key), so a long press or right click there acts on that part alone.
export function renderAlbum(parts, { replied, peerName, forwardedName, chatEncrypted = null }) {
  const [lead] = parts;
  const last = parts.at(-1);
  const photos = parts.filter((part) => kindOf(part.attachment) === 'photo');
  const others = parts.filter((part) => kindOf(part.attachment) !== 'photo');
  const children = [];
  if (forwardedName) children.push(h('p', { class: 'forwarded', 'data-testid': 'forwarded-from', dir: 'auto' }, t('forwarded_from', { name: forwardedName })));
  if (lead.reply_to != null) children.push(replyQuote(lead.reply_to, replied, peerName));
  if (photos.length) {
    const sizes = rowSizes(photos.length);
    const tiles = photos.map((part, index) => {
      const tile = renderAttachment(part, { label: t('album_photo', { n: index + 1, count: photos.length }) });
      tile.classList.add('album-tile');
      tile.dataset.rowSize = String(sizes[index]);
      tile.dataset.partKey = messageKey(part);
      tile.dataset.testid = 'album-tile';
      return tile;
    });
    children.push(h('div', { class: 'album-grid', role: 'group', 'aria-label': t('album_photos', { n: photos.length }), 'data-testid': 'album-grid', 'data-count': String(photos.length) }, tiles));
  }
  if (others.length) {
    children.push(h('ul', { class: 'album-files', 'data-testid': 'album-files' }, others.map((part) => h('li', { class: 'album-file', 'data-testid': 'album-file', 'data-part-key': messageKey(part) }, renderAttachment(part)))));
  }
  const caption = parts.find((part) => part.text)?.text;
  if (caption) children.push(h('p', { class: 'text', 'data-testid': 'message-text', dir: 'auto' }, linkify(withoutOverrides(caption))));
  const attributes = { 'data-album': albumOf(lead).id, 'data-part-ids': parts.map((part) => part.id ?? '').join(' ').trim() };
  const element = framed(lead, children, { peerName, chatEncrypted, last, status: albumStatus(parts), attributes });
  element.classList.add('album');
  return element;
}

// The quoted message; activating it scrolls to the original. `replied` is null while it is fetched.
function replyQuote(replyTo, replied, peerName) {
  const author = !replied || replied.missing ? '' : isMine(replied) ? t('you') : peerName;
  let text = t('loading');
  if (replied?.missing) text = t('message_unavailable');
  else if (replied?.deleted) text = t('deleted_message');
  else if (replied) text = replied.text || attachmentLabel(replied.attachment);
  return h(
    'button',
    { type: 'button', class: 'reply-quote', 'data-testid': 'reply-quote', 'data-reply-to': replyTo },
    h('span', { class: 'reply-author', dir: 'auto' }, author),
    h('span', { class: 'reply-text', dir: 'auto' }, withoutOverrides(text)),
  );
}

// Opens the actions menu under a bubble; `choose(action)` runs the picked one.
export function openMenu(button, message, choose) {
  closeMenus();
  const sent = message.id != null;
  const unreadable = message.e2ee === 'failed' || message.e2ee === 'unsupported';
  const items = message.call || unreadable ? [] : sent ? [['reply', t('reply')], ['copy', t('copy')], ['forward', t('forward')]] : [['copy', t('copy')]];
  if (isMine(message) && sent && !message.call && !unreadable) items.push(['edit', t('edit')]);
  if (sent) items.push(['select', t('select')]);
  if (sent && !unreadable) items.push(message.pinned_at ? ['unpin', t('unpin')] : ['pin', t('pin')]);
  if (isMine(message) && sent && !message.call && !unreadable) items.push(['info', t('message_info')]);
  if (isMine(message) || canHideForMe(message)) items.push(['delete', t('delete')]);
  if (!items.length) return;
  const mine = (message.reactions ?? []).find((reaction) => reaction.user === state.me?.username)?.emoji;
  const quick = !sent || unreadable ? null : h(
    'div',
    { class: 'menu-reactions', role: 'group', 'aria-label': t('react'), 'data-testid': 'quick-reactions' },
    QUICK_REACTIONS.map((emoji) =>
      h('button', { type: 'button', role: 'menuitem', class: `menu-reaction${emoji === mine ? ' mine' : ''}`, 'data-testid': 'quick-reaction', 'data-emoji': emoji, 'aria-pressed': String(emoji === mine), 'aria-label': t('react_with', { emoji }), onclick: () => (closeMenus(), choose('react', emoji === mine ? null : emoji)) }, emoji),
    ),
    h('button', { type: 'button', role: 'menuitem', class: 'menu-reaction more-reactions', 'data-testid': 'more-reactions', 'aria-label': t('more_reactions'), onclick: () => (closeMenus(), choose('react-more')) }, '＋'),
  ); // prettier-ignore
  const menu = h(
    'div',
    { class: 'menu', role: 'menu', 'data-testid': 'message-menu', 'aria-label': t('message_actions') },
    quick,
    items.map(([action, label]) =>
      h('button', { type: 'button', role: 'menuitem', class: `menu-item menu-${action}`, 'data-action': action, onclick: () => (closeMenus(), choose(action)) }, label),
    ),
  );
  menu.addEventListener('keydown', (event) => menuKeys(event, menu, button));
  button.setAttribute('aria-expanded', 'true');
  button.parentElement.append(menu);
  menu.querySelector('button').focus();
  setTimeout(() => document.addEventListener('click', outsideClick));
  document.addEventListener('keydown', escapeCloses);
}

// Escape closes the menu wherever the focus is (a touch may have moved it).
function escapeCloses(event) {
  if (event.key === 'Escape') closeMenus();
}

function menuKeys(event, menu, button) {
  const buttons = [...menu.querySelectorAll('button')];
  const index = buttons.indexOf(document.activeElement);
  if (event.key === 'Escape') {
    closeMenus();
    button.focus();
  } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    const step = event.key === 'ArrowDown' ? 1 : -1;
    buttons[(index + step + buttons.length) % buttons.length].focus();
  }
}

function outsideClick(event) {
  if (!event.target.closest('.menu')) closeMenus();
}

export function closeMenus() {
  document.removeEventListener('click', outsideClick);
  document.removeEventListener('keydown', escapeCloses);
  for (const menu of document.querySelectorAll('.menu')) {
    menu.parentElement.querySelector('.msg-actions')?.setAttribute('aria-expanded', 'false');
    menu.remove();
  }
}
