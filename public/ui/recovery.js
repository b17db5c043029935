// "Chat history backup" in Settings (docs/e2ee.md §14): a recovery key made on this device and
// shown once, the backup's state, and restoring history on this device with a typed key.
import { recoveryStatus, restoreHistory, setUpRecovery, turnOffRecovery } from '/e2ee.js';
import { t } from '/i18n.js';
import { reopenFailed } from '/model.js';
import { h } from '/ui/dom.js';
import { formatTime } from '/ui/format.js';

// The dialog that shows a new key once; resolves when the person says it is saved.
function showKey(written) {
  const returnFocus = document.activeElement;
  const saved = h('input', { type: 'checkbox', 'data-testid': 'recovery-saved' });
  const done = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'recovery-done', disabled: true }, t('done'));
  const copied = h('p', { class: 'form-note', role: 'status' });
  const copy = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'recovery-copy' }, t('copy'));
  const dialog = h(
    'dialog',
    { class: 'dialog recovery-dialog', 'data-testid': 'recovery-dialog', 'aria-labelledby': 'recovery-dialog-title', 'aria-describedby': 'recovery-dialog-text' },
    h('h2', { id: 'recovery-dialog-title', class: 'dialog-title' }, t('recovery_key_title')),
    h('p', { id: 'recovery-dialog-text', class: 'dialog-text' }, t('recovery_key_once')),
    h('p', { class: 'recovery-key', dir: 'ltr', translate: 'no', 'data-testid': 'recovery-key' }, written),
    h('div', { class: 'dialog-actions' }, copy),
    copied,
    h('label', { class: 'check-row' }, saved, h('span', {}, t('recovery_key_saved'))),
    h('div', { class: 'dialog-actions' }, done),
  );
  document.body.append(dialog);
  dialog.showModal();
  copy.focus();
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(written);
      copied.textContent = t('copied');
    } catch {
      copied.textContent = t('recovery_copy_failed');
    }
  });
  saved.addEventListener('change', () => (done.disabled = !saved.checked));
  dialog.addEventListener('cancel', (event) => event.preventDefault()); // only "Done" closes it
  return new Promise((resolve) => {
    done.addEventListener('click', () => {
      dialog.close();
      dialog.remove();
      returnFocus?.focus?.();
      resolve();
    });
  });
}

const RESTORE_PROBLEMS = {
  BadRecoveryKey: 'recovery_typo',
  wrong_key: 'recovery_wrong_key',
  no_backup: 'recovery_no_backup',
};

export function recoverySection() {
  const status = h('p', { class: 'form-note', role: 'status', 'data-testid': 'recovery-status' });
  const setUp = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'recovery-setup' });
  const off = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'recovery-off', hidden: true }, t('recovery_turn_off'));
  const input = h('input', { id: 'recovery-input', class: 'text-input', type: 'text', dir: 'ltr', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters', 'data-testid': 'recovery-input', 'aria-describedby': 'recovery-result' });
  const restore = h('button', { type: 'submit', class: 'secondary-button', 'data-testid': 'recovery-restore' }, t('recovery_restore'));
  const result = h('p', { id: 'recovery-result', class: 'form-note', role: 'status', 'data-testid': 'recovery-result' });
  const form = h('form', { class: 'recovery-restore', novalidate: true }, h('label', { for: 'recovery-input' }, t('recovery_restore_label')), input, restore, result);
  const section = h(
    'section',
    { class: 'settings-section', 'aria-labelledby': 'recovery-title', 'data-testid': 'section-recovery', hidden: true },
    h('h2', { id: 'recovery-title', class: 'settings-heading' }, t('recovery_title')),
    h('p', { class: 'form-note' }, t('recovery_hint')),
    status,
    h('div', { class: 'settings-actions' }, setUp, off),
    form,
  );

  const show = async () => {
    const found = await recoveryStatus().catch(() => null);
    section.hidden = !found;
    if (!found) return;
    const state = found.replaced ? 'replaced' : found.enabled ? 'on' : 'off';
    status.dataset.state = state;
    status.dataset.count = String(found.count);
    if (state === 'on') {
      const when = found.at ? formatTime(new Date(found.at).toISOString()) : '';
      status.textContent = t('recovery_on', { count: found.count.toLocaleString(), when });
    } else {
      status.textContent = t(state === 'replaced' ? 'recovery_replaced' : 'recovery_off');
    }
    setUp.textContent = t(state === 'off' ? 'recovery_set_up' : 'recovery_new_key');
    off.hidden = state === 'off';
  };

  setUp.addEventListener('click', async () => {
    setUp.disabled = true;
    try {
      await showKey(await setUpRecovery());
    } catch (error) {
      status.textContent = t(error?.isNetwork ? 'recovery_offline' : 'recovery_failed');
      setUp.disabled = false;
      return;
    }
    setUp.disabled = false;
    await show();
  });
  off.addEventListener('click', async () => {
    await turnOffRecovery({ remove: true }).catch(() => {});
    await show();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.dataset.state = 'working';
    result.textContent = t('recovery_restoring');
    restore.disabled = true;
    try {
      const count = await restoreHistory(input.value);
      input.value = '';
      await reopenFailed();
      result.dataset.state = 'restored';
      result.dataset.count = String(count);
      result.textContent = t('recovery_restored', { count: count.toLocaleString() });
    } catch (error) {
      result.dataset.state = 'error';
      const key = RESTORE_PROBLEMS[error?.name] ?? RESTORE_PROBLEMS[error?.reason] ?? (error?.isNetwork ? 'recovery_offline' : 'recovery_failed');
      result.dataset.reason = key.replace('recovery_', '');
      result.textContent = t(key);
    }
    restore.disabled = false;
    await show();
  });
  show();
  return section;
}
