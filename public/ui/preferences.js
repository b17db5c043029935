// The settings sections beyond the profile: password, notifications, text size.
import { t } from '/i18n.js';
import { disablePush, enablePush, notificationPrefs, setNotificationPrefs, supported } from '/notify.js';
import { changePassword } from '/session.js';
import { h } from '/ui/dom.js';
import { field } from '/ui/fields.js';
import { describeApiError, passwordError } from '/ui/validate.js';

const TEXT_SIZE_KEY = 'payambar.text_size';
const TEXT_SCALES = { small: 0.9, normal: 1, large: 1.15 };

export function applyTextSize(size = localStorage.getItem(TEXT_SIZE_KEY) || 'normal') {
  document.documentElement.style.setProperty('--text-scale', String(TEXT_SCALES[size] ?? 1));
}

export function passwordSection() {
  const current = field({ name: 'current_password', label: t('current_password'), type: 'password', autocomplete: 'current-password' });
  const next = field({ name: 'new_password', label: t('new_password'), type: 'password', hint: t('password_hint'), autocomplete: 'new-password', validate: passwordError });
  const note = h('p', { class: 'form-note', role: 'status', 'data-testid': 'password-status' });
  const submit = h('button', { type: 'submit', class: 'secondary-button', 'data-testid': 'password-save' }, t('change_password'));
  const form = h('form', { class: 'settings-form settings-section', novalidate: true, 'aria-labelledby': 'password-title' }, h('h2', { id: 'password-title' }, t('change_password')), current.element, next.element, submit, note);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    note.textContent = '';
    if (!current.value) return current.setError(t('err_current_password'));
    if (!next.check()) return next.control.focus();
    submit.disabled = true;
    try {
      await changePassword(current.value, next.value);
      current.control.value = next.control.value = '';
      note.textContent = t('password_changed');
    } catch (error) {
      if (error.code === 'wrong_password') current.setError(t('err_current_password'));
      else if (error.field === 'new_password') next.setError(t('err_password'));
      else note.textContent = describeApiError(error).text ?? t(describeApiError(error).key);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

// What to say when turning notifications on did not work.
export function enableProblem(result) {
  if (result === 'unsupported') return t('notifications_unsupported');
  if (result === 'no_push') return t('notifications_no_push');
  return t('notifications_blocked');
}

function checkbox(name, label, checked, onChange) {
  const input = h('input', { type: 'checkbox', name, 'data-testid': `setting-${name}`, checked });
  input.addEventListener('change', () => onChange(input.checked, input));
  return { row: h('label', { class: 'check-row' }, input, h('span', {}, label)), input };
}

export function notificationSection() {
  const prefs = notificationPrefs();
  const note = h('p', { class: 'form-note', role: 'status', 'data-testid': 'notifications-status' });
  const permissionGone = supported() && Notification.permission !== 'granted';
  const enabled = checkbox('notifications', t('notifications_on'), prefs.enabled && !permissionGone, async (on, input) => {
    note.textContent = '';
    input.disabled = true;
    try {
      if (!on) await disablePush();
      else {
        const result = await enablePush();
        if (result !== 'granted') {
          input.checked = false;
          note.textContent = enableProblem(result);
        }
      }
    } catch (error) {
      input.checked = notificationPrefs().enabled;
      note.textContent = describeApiError(error).text ?? t(describeApiError(error).key);
    } finally {
      input.disabled = false;
    }
  });
  const preview = checkbox('preview', t('notifications_preview'), prefs.preview, (on) => setNotificationPrefs({ preview: on }));
  const sound = checkbox('sound', t('notifications_sound'), prefs.sound, (on) => setNotificationPrefs({ sound: on }));
  if (!supported()) {
    enabled.input.disabled = true;
    note.textContent = t('notifications_unsupported');
  }
  return h('fieldset', { class: 'settings-section' }, h('legend', {}, t('notifications')), enabled.row, preview.row, sound.row, note);
}

function choices(name, legend, options, selected, onChange) {
  const rows = options.map(([value, label]) => {
    const input = h('input', { type: 'radio', name, value, checked: value === selected, 'data-testid': `${name}-${value}` });
    input.addEventListener('change', () => input.checked && onChange(value));
    return h('label', {}, input, h('span', {}, label));
  });
  return h('fieldset', { class: 'settings-section' }, h('legend', {}, legend), h('div', { class: 'choice-row' }, rows));
}

const LINK_PREVIEWS_KEY = 'payambar.link_previews';

// Whether the composer asks for link previews (the server then learns each link before it is sent).
export function linkPreviewsOn() {
  return localStorage.getItem(LINK_PREVIEWS_KEY) !== 'off';
}

export function linkPreviewSection() {
  const toggle = checkbox('link-previews', t('link_previews_on'), linkPreviewsOn(), (on) => localStorage.setItem(LINK_PREVIEWS_KEY, on ? 'on' : 'off'));
  return h('fieldset', { class: 'settings-section' }, h('legend', {}, t('link_previews')), toggle.row, h('p', { class: 'field-hint' }, t('link_previews_hint')));
}

export function textSizeSection() {
  const sizes = [
    ['small', t('text_small')],
    ['normal', t('text_normal')],
    ['large', t('text_large')],
  ];
  return choices('text_size', t('text_size'), sizes, localStorage.getItem(TEXT_SIZE_KEY) || 'normal', (size) => {
    localStorage.setItem(TEXT_SIZE_KEY, size);
    applyTextSize(size);
  });
}
