// A modal question with a few answers; resolves with the chosen answer's value, or null when
// cancelled (the cancel button, Escape or a click outside).
import { t } from '/i18n.js';
import { h } from '/ui/dom.js';

export function ask({ title, text = '', answers }) {
  const returnFocus = document.activeElement;
  const buttons = answers.map(({ label, value, danger = false }) =>
    h('button', { type: 'button', class: danger ? 'danger-button' : 'primary-button', 'data-testid': `confirm-${value}`, 'data-value': value }, label),
  );
  const cancel = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'confirm-cancel' }, t('cancel'));
  const dialog = h(
    'dialog',
    { class: 'dialog', 'data-testid': 'confirm-dialog', 'aria-labelledby': 'dialog-title', 'aria-describedby': text ? 'dialog-text' : null },
    h('h2', { id: 'dialog-title', class: 'dialog-title' }, title),
    text ? h('p', { id: 'dialog-text', class: 'dialog-text' }, text) : null,
    h('div', { class: 'dialog-actions' }, buttons, cancel),
  );
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus();
  return new Promise((resolve) => {
    const close = (value) => {
      dialog.close();
      dialog.remove();
      returnFocus?.focus?.();
      resolve(value);
    };
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      close(null);
    });
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog) return close(null);
      const button = event.target.closest('button');
      if (button) close(button === cancel ? null : button.dataset.value);
    });
  });
}
