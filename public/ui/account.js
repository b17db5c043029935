// Settings that guard the account: who sees your last seen, your sessions, API tokens for
// scripts, the people you block, and deleting the account. Added below the profile settings.
import { request } from '/api.js';
import { locale, t } from '/i18n.js';
import { logout } from '/session.js';
import { h } from '/ui/dom.js';
import { describeApiError } from '/ui/validate.js';

const enc = encodeURIComponent;

export function accountSections() {
  return [lastSeenSection(), sessionsSection(), tokensSection(), blockedSection(), deleteSection()];
}

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
  async function load() {
    const { sessions } = await request('GET', '/api/me/sessions');
    list.replaceChildren(
      ...sessions.map((session) =>
        h(
          'li',
          { class: 'settings-item', 'data-testid': 'session' },
          h('span', { class: 'settings-item-text' }, h('span', { dir: 'ltr' }, session.user_agent || t('unknown_device')), h('small', {}, `${session.address} · ${t('last_active', { time: when(session.last_active) })}`)),
          session.current
            ? h('span', { class: 'settings-badge', 'data-testid': 'session-current' }, t('this_device'))
            : h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'session-end', onclick: () => request('DELETE', `/api/me/sessions/${enc(session.id)}`).then(load) }, t('end_session')),
        ),
      ),
    );
  }
  load().catch(() => {});
  return section('sessions', t('sessions'), list);
}

function tokensSection() {
  const list = h('ul', { class: 'settings-list', 'data-testid': 'tokens' });
  const name = h('input', { id: 'token-name', name: 'token_name', maxlength: '64', dir: 'auto', 'data-testid': 'token-name' });
  const shown = h('p', { class: 'form-note', role: 'status', 'data-testid': 'token-status' });
  const form = h('form', { class: 'settings-form', novalidate: true }, h('label', { for: 'token-name' }, t('token_name')), name, h('button', { type: 'submit', class: 'secondary-button', 'data-testid': 'token-create' }, t('token_create')), shown);
  async function load() {
    const { tokens } = await request('GET', '/api/me/tokens');
    list.replaceChildren(
      ...tokens.map((token) =>
        h(
          'li',
          { class: 'settings-item', 'data-testid': 'token' },
          h('span', { class: 'settings-item-text' }, h('span', { dir: 'auto' }, token.name), h('small', {}, t('last_active', { time: when(token.last_active) }))),
          h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'token-revoke', onclick: () => request('DELETE', `/api/me/tokens/${enc(token.id)}`).then(load) }, t('token_revoke')),
        ),
      ),
    );
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    shown.replaceChildren();
    try {
      const created = await request('POST', '/api/me/tokens', { name: name.value.trim() });
      const value = h('input', { readonly: true, dir: 'ltr', class: 'token-value', 'data-testid': 'token-value', 'aria-label': t('token_once') });
      value.value = created.token;
      shown.replaceChildren(t('token_once'), value);
      value.select();
      name.value = '';
      await load();
    } catch (error) {
      shown.textContent = problemText(error);
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
          h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'unblock', onclick: () => request('DELETE', `/api/users/${enc(user.username)}/block`).then(load) }, t('unblock')),
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
      await load();
    } catch (error) {
      note.textContent = problemText(error);
    }
  });
  load().catch(() => {});
  return section('blocked', t('blocked_people'), h('p', { class: 'field-hint' }, t('block_hint')), list, form);
}

function deleteSection() {
  const password = h('input', { id: 'delete-password', type: 'password', dir: 'ltr', autocomplete: 'current-password', 'data-testid': 'delete-password' });
  const note = h('p', { class: 'form-note', role: 'status', 'data-testid': 'delete-status' });
  const form = h('form', { class: 'settings-form', novalidate: true }, h('p', { class: 'field-hint' }, t('delete_account_hint')), h('label', { for: 'delete-password' }, t('password')), password, h('button', { type: 'submit', class: 'danger-button', 'data-testid': 'delete-account' }, t('delete_account')), note);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    note.textContent = '';
    if (!confirm(t('delete_account_confirm'))) return;
    try {
      await request('DELETE', '/api/me', { password: password.value });
      await logout();
    } catch (error) {
      note.textContent = error.code === 'wrong_password' ? t('err_wrong_password') : problemText(error);
    }
  });
  return section('delete', t('delete_account'), form);
}
