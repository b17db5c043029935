// Settings in the sidebar, in groups: the profile (name, bio, photo, link); language and text size;
// notifications; privacy and blocking; password, devices, the history backup and API tokens; deleting the account;
// and last, logging out.
import { outboxAll } from '/db.js';
import { on } from '/events.js';
import { t, toggleLanguage } from '/i18n.js';
import { state } from '/model.js';
import { logout, saveProfile } from '/session.js';
import { deleteSection, privacySections, securitySections } from '/ui/account.js';
import { ask } from '/ui/dialog.js';
import { linkPreviewSection, notificationSection, passwordSection, textSizeSection } from '/ui/preferences.js';
import { h, icon } from '/ui/dom.js';
import { field } from '/ui/fields.js';
import { linkDeviceSection } from '/ui/linking.js';
import { recoverySection } from '/ui/recovery.js';
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

// One card of settings; the sections inside keep their own headings.
function group(name, ...children) {
  return h('div', { class: 'settings-card', 'data-testid': `settings-group-${name}` }, ...children);
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
      group(
        'profile',
        h('div', { class: 'settings-me' }, avatar(me, 'avatar-large'), h('p', { class: 'settings-name', dir: 'auto' }, me.display_name || me.username), h('p', { class: 'settings-username', dir: 'ltr' }, '@' + me.username)),
        avatarPicker((photo) => {
          state.me.avatar = photo;
          container.querySelector('.settings-me .avatar').replaceWith(avatar(state.me, 'avatar-large'));
        }),
        form,
        h('p', { class: 'settings-row' }, h('span', {}, t('share_link')), ' ', h('a', { href: profileUrl, dir: 'ltr', 'data-testid': 'profile-link' }, profileUrl)),
      ),
      group(
        'general',
        h(
          'section',
          { class: 'settings-section', 'aria-labelledby': 'language-title' },
          h('h2', { id: 'language-title' }, t('language')),
          h('button', { type: 'button', class: 'secondary-button lang-toggle', 'data-testid': 'lang-toggle', onclick: toggleLanguage }, `${t('language')}: ${t('lang_switch')}`),
        ),
        textSizeSection(),
      ),
      group('notifications', notificationSection()),
      group('privacy', ...privacySections(), linkPreviewSection()),
      group('security', passwordSection(), linkDeviceSection(), recoverySection(), ...securitySections()),
      group('delete', deleteSection()),
      h('button', { type: 'button', class: 'danger-button settings-logout', 'data-testid': 'logout', onclick: confirmLogout }, t('logout')),
    ),
  );

  // What the fields were filled with: a field still holding it was not edited here, so a change
  // from another device replaces it, and saving leaves it out (it cannot overwrite that change).
  let shown = { display_name: me.display_name ?? '', bio: me.bio ?? '' };
  const showUser = (user) => {
    container.querySelector('.settings-name').textContent = user.display_name || user.username;
    container.querySelector('.settings-me .avatar').replaceWith(avatar(user, 'avatar-large'));
  };
  const off = on('me', () => {
    const user = state.me;
    if (displayName.value === shown.display_name) displayName.control.value = user.display_name ?? '';
    if (bio.value === shown.bio) bio.control.value = user.bio ?? '';
    shown = { display_name: user.display_name ?? '', bio: user.bio ?? '' };
    showUser(user);
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    note.textContent = '';
    if (![displayName.check(), bio.check()].every(Boolean)) return;
    const changes = {};
    if (displayName.value !== shown.display_name) changes.display_name = displayName.value.trim() || me.username;
    if (bio.value !== shown.bio) changes.bio = bio.value.trim();
    try {
      if (Object.keys(changes).length) showUser(await saveProfile(changes));
      note.textContent = t('saved');
    } catch (error) {
      const problem = describeApiError(error);
      note.textContent = problem.text ?? t(problem.key);
    }
  });
  return { destroy: off };
}
