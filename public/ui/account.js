// Settings that guard the account: who sees your last seen, your sessions, API tokens for
// scripts, the people you block, and deleting the account. Added below the profile settings.
import { request } from '/api.js';
import { locale, t } from '/i18n.js';
import { logout } from '/session.js';
import { h } from '/ui/dom.js';
import { deviceName } from '/ui/useragent.js';
import { describeApiError } from '/ui/validate.js';
import { forgetBlocked } from '/ui/blocking.js';

const enc = encodeURIComponent;

// Grouped as settings shows them: who sees what, what can act for you, and leaving for good.
export function privacySections() {
  return [lastSeenSection(), blockedSection()];
}

export function securitySections() {
  return [sessionsSection(), tokensSection()];
}

export { deleteSection };

function section(name, title, ...children) {
  return h('section', { class: 'settings-section', 'aria-labelledby': `${name}-title`, 'data-testid': `section-${name}` }, h('h2', { id: `${name}-title`, class: 'settings-heading' }, title), ...children);
}

function problemText(error) {
  const problem = describeApiError(error);
  return problem.text ?? t(problem.key, { seconds: problem.seconds });
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(locale(), { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

function lastSeenSection() {
  const note = h('p', { class: 'form-note', role: 'status', 'data-testid': 'last-seen-status' });
  const choice = h('select', { id: 'last-seen-visibility', 'data-testid': 'last-seen-visibility' }, ...['everyone', 'contacts', 'nobody'].map((value) => h('option', { value }, t(`last_seen_${value}`))));
  request('GET', '/api/me').then((me) => (choice.value = me.last_seen_visibility ?? 'everyone')).catch(() => {});
  choice.addEventListener('change', async () => {
    note.textContent = '';
    try {
      await request('PATCH', '/api/me', { last_seen_visibility: choice.value });
      note.textContent = t('saved');
    } catch (error) {
      note.textContent = problemText(error);
    }
  });
  return section('last-seen', t('privacy'), h('label', { for: 'last-seen-visibility' }, t('last_seen_who')), choice, note);
}

function sessionsSection() {
  const list = h('ul', { class: 'settings-list', 'data-testid': 'sessions' });
  // Ending a session asks for the password, so a stolen session cannot throw the owner out.
  const password = h('input', { id: 'sessions-password', type: 'password', dir: 'ltr', autocomplete: 'current-password', 'data-testid': 'sessions-password' });
  const note = h('p', { class: 'form-note', role: 'status', 'data-testid': 'session-status' });
  async function end(session) {
    note.textContent = '';
    try {
      await request('DELETE', `/api/me/sessions/${enc(session.id)}`, { password: password.value });
      password.value = '';
      await load();
    } catch (error) {
      note.textContent = error.code === 'wrong_password' ? t('err_wrong_password') : problemText(error);
    }
  }
  async function load() {
    const { sessions } = await request('GET', '/api/me/sessions');
    list.replaceChildren(
      ...sessions.map((session) =>
        h(
          'li',
          { class: 'settings-item', 'data-testid': 'session' },
          h('span', { class: 'settings-item-text' }, h('span', { dir: 'auto', 'data-testid': 'session-device', title: session.user_agent || '' }, deviceName(session.user_agent)), h('small', {}, `${session.address} · ${t('last_active', { time: when(session.last_active) })}`)),
          session.current
            ? h('span', { class: 'settings-badge', 'data-testid': 'session-current' }, t('this_device'))
            : h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'session-end', onclick: () => end(session) }, t('end_session')),
        ),
      ),
    );
  }
  load().catch(() => {});
  return section('sessions', t('sessions'), list, h('label', { for: 'sessions-password' }, t('password_to_end_session')), password, note);
}

function tokensSection() {
  const list = h('ul', { class: 'settings-list', 'data-testid': 'tokens' });
  const name = h('input', { id: 'token-name', name: 'token_name', maxlength: '64', dir: 'auto', 'data-testid': 'token-name' });
  const password = h('input', { id: 'token-password', type: 'password', dir: 'ltr', autocomplete: 'current-password', 'data-testid': 'token-password' });
  const scopes = ['read', 'send', 'account'].map((scope) => {
    const box = h('input', { type: 'checkbox', id: `token-scope-${scope}`, value: scope, 'data-testid': `token-scope-${scope}` });
    box.checked = scope !== 'account'; // managing the account is asked for, never the default
    return box;
  });
  const scopeChoice = h('fieldset', { class: 'settings-scopes' }, h('legend', {}, t('token_scopes')), ...scopes.map((box) => h('label', { for: box.id }, box, t(`scope_${box.value}`))));
  const shown = h('p', { class: 'form-note', role: 'status', 'data-testid': 'token-status' });
  const form = h('form', { class: 'settings-form', novalidate: true }, h('label', { for: 'token-name' }, t('token_name')), name, scopeChoice, h('label', { for: 'token-password' }, t('password')), password, h('button', { type: 'submit', class: 'secondary-button', 'data-testid': 'token-create' }, t('token_create')), shown);
  async function load() {
    const { tokens } = await request('GET', '/api/me/tokens');
    list.replaceChildren(
      ...tokens.map((token) =>
        h(
          'li',
          { class: 'settings-item', 'data-testid': 'token' },
          h('span', { class: 'settings-item-text' }, h('span', { dir: 'auto' }, token.name), h('small', { 'data-testid': 'token-scopes' }, `${token.scopes.map((scope) => t(`scope_${scope}`)).join('، ')} · ${t('last_active', { time: when(token.last_active) })}`)),
          h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'token-revoke', onclick: () => request('DELETE', `/api/me/tokens/${enc(token.id)}`).then(load) }, t('token_revoke')),
        ),
      ),
    );
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    shown.replaceChildren();
    try {
      const chosen = scopes.filter((box) => box.checked).map((box) => box.value);
      const created = await request('POST', '/api/me/tokens', { name: name.value.trim(), scopes: chosen, password: password.value });
      password.value = '';
      const value = h('input', { readonly: true, dir: 'ltr', class: 'token-value', 'data-testid': 'token-value', 'aria-label': t('token_once') });
      value.value = created.token;
      shown.replaceChildren(t('token_once'), value);
      value.select();
      name.value = '';
      await load();
    } catch (error) {
      shown.textContent = error.code === 'wrong_password' ? t('err_wrong_password') : problemText(error);
    }
  });
  load().catch(() => {});
  return section('tokens', t('api_tokens'), h('p', { class: 'field-hint' }, t('api_tokens_hint')), list, form);
}

function blockedSection() {
  const list = h('ul', { class: 'settings-list', 'data-testid': 'blocked' });
  const who = h('input', { id: 'block-username', dir: 'ltr', autocomplete: 'off', 'data-testid': 'block-username' });
  const note = h('p', { class: 'form-note', role: 'status', 'data-testid': 'block-status' });
  const form = h('form', { class: 'settings-form', novalidate: true }, h('label', { for: 'block-username' }, t('block_someone')), who, h('button', { type: 'submit', class: 'secondary-button', 'data-testid': 'block-submit' }, t('block')), note);
  async function load() {
    const { users } = await request('GET', '/api/me/blocked');
    list.replaceChildren(
      ...users.map((user) =>
        h(
          'li',
          { class: 'settings-item', 'data-testid': 'blocked-user' },
          h('span', { class: 'settings-item-text' }, h('span', { dir: 'auto' }, user.display_name || user.username), h('small', { dir: 'ltr' }, '@' + user.username)),
          h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'unblock', onclick: () => request('DELETE', `/api/users/${enc(user.username)}/block`).then(forgetBlocked).then(load) }, t('unblock')),
        ),
      ),
    );
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    note.textContent = '';
    try {
      await request('POST', `/api/users/${enc(who.value.trim().replace(/^@/, ''))}/block`);
      who.value = '';
      forgetBlocked();
      await load();
    } catch (error) {
      note.textContent = problemText(error);
    }
  });
  load().catch(() => {});
  return section('blocked', t('blocked_people'), h('p', { class: 'field-hint' }, t('block_hint')), list, form);
}

// Deleting asks for the password in a dialog first; that dialog is the one confirmation.
function deleteSection() {
  const open = h('button', { type: 'button', class: 'danger-button', 'data-testid': 'delete-account', 'aria-haspopup': 'dialog' }, t('delete_account'));
  open.addEventListener('click', () => askToDelete(open));
  return section('delete', t('delete_account'), h('p', { class: 'field-hint' }, t('delete_account_hint')), open);
}

function askToDelete(returnFocus) {
  const password = h('input', { id: 'delete-password', type: 'password', dir: 'ltr', autocomplete: 'current-password', required: true, 'data-testid': 'delete-password', 'aria-describedby': 'delete-status' });
  const note = h('p', { class: 'form-error', id: 'delete-status', role: 'alert', 'data-testid': 'delete-status' });
  const confirmButton = h('button', { type: 'submit', class: 'danger-button', 'data-testid': 'delete-confirm' }, t('delete_account'));
  const cancel = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'delete-cancel' }, t('cancel'));
  const form = h(
    'form',
    { class: 'settings-form', novalidate: true },
    h('p', { class: 'dialog-text', id: 'delete-dialog-text' }, t('delete_account_hint')),
    h('label', { for: 'delete-password' }, t('password_to_delete')),
    password,
    note,
    h('div', { class: 'dialog-actions' }, confirmButton, cancel),
  );
  const dialog = h(
    'dialog',
    { class: 'dialog', 'data-testid': 'delete-dialog', 'aria-labelledby': 'delete-dialog-title', 'aria-describedby': 'delete-dialog-text' },
    h('h2', { class: 'dialog-title', id: 'delete-dialog-title' }, t('delete_account_confirm')),
    form,
  );
  document.body.append(dialog);
  dialog.showModal();
  password.focus();
  const close = () => {
    dialog.close();
    dialog.remove();
    returnFocus.focus();
  };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    close();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    note.textContent = '';
    if (!password.value) {
      note.textContent = t('err_password_needed');
      return password.focus();
    }
    confirmButton.disabled = true;
    try {
      await request('DELETE', '/api/me', { password: password.value });
      dialog.remove();
      await logout();
    } catch (error) {
      note.textContent = error.code === 'wrong_password' ? t('err_wrong_password') : problemText(error);
      password.select();
    } finally {
      confirmButton.disabled = false;
    }
  });
}
