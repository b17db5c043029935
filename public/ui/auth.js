// Log in and sign up, with the server's rules checked inline before the request.
import { api, saveSession } from '/api.js';
import { t, toggleLanguage } from '/i18n.js';
import { h } from '/ui/dom.js';
import { field } from '/ui/fields.js';
import { describeApiError, displayNameError, passwordError, usernameError } from '/ui/validate.js';

export function renderAuth(root, { onLoggedIn, mode = 'login' }) {
  const username = field({ name: 'username', label: t('username'), hint: t('username_hint'), autocomplete: 'username', validate: usernameError });
  const password = field({ name: 'password', label: t('password'), type: 'password', hint: t('password_hint'), autocomplete: mode === 'login' ? 'current-password' : 'new-password', validate: passwordError });
  const displayName = field({ name: 'display_name', label: `${t('display_name')} (${t('optional')})`, autocomplete: 'nickname', validate: displayNameError });
  const formError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'form-error' });
  const submit = h('button', { type: 'submit', class: 'primary-button', 'data-testid': 'auth-submit' }, mode === 'login' ? t('login') : t('register'));
  // A newcomer lands on log in: signing up is a full button of its own there, not a hint.
  const switchMode = h('button', { type: 'button', class: mode === 'login' ? 'secondary-button auth-switch' : 'link-button', 'data-testid': 'auth-switch' }, mode === 'login' ? t('to_register') : t('to_login'));
  const langToggle = h('button', { type: 'button', class: 'link-button lang-toggle', 'data-testid': 'lang-toggle', lang: t('lang_switch') === 'English' ? 'en' : 'fa' }, t('lang_switch'));
  const fields = mode === 'login' ? [username, password] : [username, displayName, password];
  const form = h('form', { class: 'auth-form', novalidate: true, 'aria-labelledby': 'auth-title' }, fields.map((item) => item.element), formError, submit);

  root.replaceChildren(
    h(
      'main',
      { class: 'auth-screen' },
      h(
        'div',
        { class: 'auth-card' },
        h('img', { src: '/icons/icon-192.png', alt: '', class: 'auth-logo', width: '96', height: '96' }),
        h('h1', { id: 'auth-title' }, mode === 'login' ? t('login') : t('register')),
        h('p', { class: 'auth-tagline' }, `${t('app_name')} · ${t('tagline')}`),
        form,
        switchMode,
        langToggle,
      ),
    ),
  );

  switchMode.addEventListener('click', () => renderAuth(root, { onLoggedIn, mode: mode === 'login' ? 'register' : 'login' }));
  langToggle.addEventListener('click', () => {
    toggleLanguage();
    renderAuth(root, { onLoggedIn, mode });
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    formError.textContent = '';
    const valid = fields.map((item) => item.check()).every(Boolean);
    if (!valid) return fields.find((item) => item.control.getAttribute('aria-invalid') === 'true')?.control.focus();
    submit.disabled = true;
    try {
      const body = { username: username.value.trim(), password: password.value };
      if (mode === 'register' && displayName.value.trim()) body.display_name = displayName.value.trim();
      const answer = mode === 'login' ? await api.login(body) : await api.register(body);
      saveSession(answer);
      onLoggedIn();
    } catch (error) {
      const problem = describeApiError(error);
      const text = problem.text ?? t(problem.key, { seconds: problem.seconds });
      const target = { username, password, display_name: displayName }[problem.field];
      if (target) target.setError(text);
      else formError.textContent = text;
    } finally {
      submit.disabled = false;
    }
  });
  username.control.focus();
}
