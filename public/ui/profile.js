// The public profile page at /u/{username}: who this is and a way to message them.
import { api, currentSession } from '/api.js';
import { t, toggleLanguage } from '/i18n.js';
import { h } from '/ui/dom.js';
import { avatar } from '/ui/format.js';

const REDIRECT_KEY = 'payambar.after_login';

export function takeRedirect() {
  const target = sessionStorage.getItem(REDIRECT_KEY);
  sessionStorage.removeItem(REDIRECT_KEY);
  return target;
}

export async function renderPublicProfile(root, username, rerender) {
  const card = h('div', { class: 'auth-card profile-card', 'data-testid': 'public-profile' }, h('p', {}, t('loading')));
  const langToggle = h('button', { type: 'button', class: 'link-button lang-toggle', 'data-testid': 'lang-toggle' }, t('lang_switch'));
  langToggle.addEventListener('click', () => (toggleLanguage(), rerender()));
  root.replaceChildren(h('main', { class: 'auth-screen' }, card, langToggle));
  let user;
  try {
    user = await api.user(username);
  } catch (error) {
    const text = error.status === 404 ? t('err_user_not_found') : t('err_network');
    card.replaceChildren(h('h1', {}, t('profile')), h('p', { role: 'alert' }, text), h('a', { href: '/', class: 'primary-button' }, t('app_name')));
    return;
  }
  const sendButton = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'profile-send' }, t('send_message'));
  sendButton.addEventListener('click', () => {
    const target = `/#/chat/${encodeURIComponent(user.username)}`;
    if (!currentSession()) sessionStorage.setItem(REDIRECT_KEY, target);
    location.assign(currentSession() ? target : '/');
  });
  document.title = `${user.display_name || user.username} · ${t('app_name')}`;
  card.replaceChildren(
    avatar(user, 'avatar-large'),
    h('h1', { dir: 'auto' }, user.display_name || user.username),
    h('p', { class: 'settings-username', dir: 'ltr' }, '@' + user.username),
    user.bio ? h('p', { class: 'profile-bio', dir: 'auto' }, user.bio) : null,
    sendButton,
  );
}
