// A labelled form field with its inline error message.
import { t } from '/i18n.js';
import { h } from '/ui/dom.js';

let fieldCount = 0;

export function field({ name, label, type = 'text', hint = '', multiline = false, value = '', autocomplete = null, validate = null }) {
  const id = `field-${name}-${++fieldCount}`;
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const control = h(multiline ? 'textarea' : 'input', {
    id,
    name,
    type: multiline ? null : type,
    autocomplete,
    dir: type === 'password' || name === 'username' ? 'ltr' : 'auto',
    'aria-describedby': `${hintId} ${errorId}`,
    rows: multiline ? '3' : null,
  });
  control.value = value;
  const error = h('p', { id: errorId, class: 'field-error', 'data-testid': `error-${name}`, 'aria-live': 'polite' });
  const element = h('div', { class: 'field' }, h('label', { for: id }, label), control, h('p', { id: hintId, class: 'field-hint' }, hint), error);

  function setError(text) {
    error.textContent = text || '';
    control.setAttribute('aria-invalid', text ? 'true' : 'false');
  }

  function check() {
    const key = validate?.(control.value);
    setError(key ? t(key) : '');
    return !key;
  }

  control.addEventListener('blur', () => control.value && check());
  control.addEventListener('input', () => error.textContent && check());
  return { element, control, setError, check, get value() { return control.value; } };
}
