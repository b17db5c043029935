// Settings in the sidebar: display name and bio, the profile link, language, notifications,
// text size, password, log out.
import { outboxAll } from '/db.js';
import { t, toggleLanguage } from '/i18n.js';
import { state } from '/model.js';
import { logout, saveProfile } from '/session.js';
import { accountSections } from '/ui/account.js';
import { ask } from '/ui/dialog.js';
import { notificationSection, passwordSection, textSizeSection } from '/ui/preferences.js';
import { h, icon } from '/ui/dom.js';
import { field } from '/ui/fields.js';
import { avatar } from '/ui/format.js';
import { avatarPicker } from '/ui/media.js';
import { bioError, describeApiError, displayNameError } from '/ui/validate.js';

// Messages still in the outbox would be lost with the account's local data: ask first.
async function confirmLogout() {
  const unsent = (await outboxAll()).length;
  if (unsent) {
    const answer = await ask({
      title: t('logout_unsent_title'),
      text: t('logout_unsent', { count: unsent }),
      answers: [{ label: t('logout_anyway'), value: 'logout', danger: true }],
    });
    if (answer !== 'logout') return;
  }
  logout();
}

export function renderSettings(container) {
  const me = state.me;
  const displayName = field({ name: 'display_name', label: t('display_name'), value: me.display_name ?? '', autocomplete: 'nickname', validate: displayNameError });
  const bio = field({ name: 'bio', label: t('bio'), multiline: true, value: me.bio ?? '', validate: bioError });
  const note = h('p', { class: 'form-note', role: 'status', 'data-testid': 'settings-status' });
  const form = h('form', { class: 'settings-form', novalidate: true }, displayName.element, bio.element, h('button', { type: 'submit', class: 'primary-button', 'data-testid': 'settings-save' }, t('save')), note);
  const profileUrl = new URL(`/u/${encodeURIComponent(me.username)}`, location.href).href;
  const back = h('a', { href: '#/', class: 'icon-button back-button-always', 'aria-label': t('back'), 'data-testid': 'settings-back' }, icon('back'));

  container.replaceChildren(
    h('header', { class: 'sidebar-header' }, back, h('h1', { class: 'sidebar-title' }, t('settings'))),
    h(
      'div',
      { class: 'sidebar-body settings' },
      h('div', { class: 'settings-me' }, avatar(me, 'avatar-large'), h('p', { class: 'settings-name', dir: 'auto' }, me.display_name || me.username), h('p', { class: 'settings-username', dir: 'ltr' }, '@' + me.username)),
      avatarPicker((photo) => {
        me.avatar = photo;
        container.querySelector('.settings-me .avatar').replaceWith(avatar(me, 'avatar-large'));
      }),
      form,
      h('p', { class: 'settings-row' }, h('span', {}, t('share_link')), ' ', h('a', { href: profileUrl, dir: 'ltr', 'data-testid': 'profile-link' }, profileUrl)),
      h('button', { type: 'button', class: 'secondary-button lang-toggle', 'data-testid': 'lang-toggle', onclick: toggleLanguage }, `${t('language')}: ${t('lang_switch')}`),
      notificationSection(),
      textSizeSection(),
      passwordSection(),
      h('button', { type: 'button', class: 'danger-button', 'data-testid': 'logout', onclick: confirmLogout }, t('logout')),
      ...accountSections(),
    ),
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    note.textContent = '';
    if (![displayName.check(), bio.check()].every(Boolean)) return;
    try {
      const user = await saveProfile({ display_name: displayName.value.trim() || me.username, bio: bio.value.trim() });
      container.querySelector('.settings-name').textContent = user.display_name;
      container.querySelector('.settings-me .avatar').replaceWith(avatar(user, 'avatar-large'));
      note.textContent = t('saved');
    } catch (error) {
      const problem = describeApiError(error);
      note.textContent = problem.text ?? t(problem.key);
    }
  });
  return { destroy() {} };
}
