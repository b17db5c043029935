// The dialog between picking files and sending them (as Telegram's): each file shown (a photo as
// itself, anything else by name and size), a caption, and for photos the choice of sending them
// compressed (saved again, at most 2 560 px) or as files (the bytes as picked, only their metadata
// taken out). Resolves with {files, caption, asFiles}, or null when cancelled.
import { t } from '/i18n.js';
import { h } from '/ui/dom.js';
import { formatSize } from '/ui/media.js';

const MAX_CAPTION = 4096;
const PHOTO = /^image\/(jpeg|png|webp|gif)$/;

export function chooseFilesToSend(files, caption = '') {
  const returnFocus = document.activeElement;
  const urls = [];
  const items = files.map((file) => {
    const photo = PHOTO.test(file.type);
    let preview = null;
    if (photo) {
      const url = URL.createObjectURL(file);
      urls.push(url);
      preview = h('img', { class: 'file-send-thumb', src: url, alt: '' });
    }
    return h(
      'li',
      { class: 'file-send-item', 'data-testid': 'file-send-item', 'data-kind': photo ? 'photo' : 'file' },
      preview,
      h('span', { class: 'file-send-name', dir: 'auto' }, file.name),
      h('span', { class: 'file-send-size' }, formatSize(file.size)),
    );
  });
  const photos = files.some((file) => PHOTO.test(file.type));
  const text = h('textarea', { class: 'composer-input file-send-caption', 'data-testid': 'file-send-caption', rows: '2', maxlength: String(MAX_CAPTION), placeholder: t('add_caption'), 'aria-label': t('add_caption'), dir: 'auto' });
  text.value = caption;
  const compress = h('input', { type: 'checkbox', 'data-testid': 'file-send-compress', checked: true });
  const send = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'file-send-confirm' }, t('send'));
  const cancel = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'file-send-cancel' }, t('cancel'));
  const dialog = h(
    'dialog',
    { class: 'dialog file-send', 'data-testid': 'file-send-dialog', 'aria-labelledby': 'file-send-title' },
    h('h2', { id: 'file-send-title', class: 'dialog-title' }, t(files.length > 1 ? 'send_files' : 'send_file', { n: files.length.toLocaleString() })),
    h('ul', { class: 'file-send-list' }, items),
    photos ? h('label', { class: 'check-row' }, compress, h('span', {}, t('compress_photos'))) : null,
    text,
    h('div', { class: 'dialog-actions' }, send, cancel),
  );
  document.body.append(dialog);
  dialog.showModal();
  text.focus();
  return new Promise((resolve) => {
    const close = (value) => {
      dialog.close();
      dialog.remove();
      urls.forEach((url) => URL.revokeObjectURL(url));
      returnFocus?.focus?.();
      resolve(value);
    };
    const confirm = () => close({ files, caption: text.value.trim().slice(0, MAX_CAPTION), asFiles: photos && !compress.checked });
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close(null);
    });
    send.addEventListener('click', confirm);
    cancel.addEventListener('click', () => close(null));
    text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        confirm();
      }
    });
  });
}
