// The app's own offer to turn notifications on, shown after logging in or when the first message
// arrives: "Enable" asks the browser (only then does its permission prompt appear), "Not now"
// puts the offer away for a week. Nothing is asked when notifications are on or blocked.
import { on } from '/events.js';
import { t } from '/i18n.js';
import { enablePush, notificationPrefs, supported } from '/notify.js';
import { h } from '/ui/dom.js';
import { enableProblem } from '/ui/preferences.js';
import { describeApiError } from '/ui/validate.js';

const LATER_KEY = 'payambar.notify_offer_later';
const LATER_FOR = 7 * 24 * 3600 * 1000;
let loggedInNow = false;

// Called when a log in or sign up just succeeded: the next shell offers at once.
export function offerAfterLogin() {
  loggedInNow = true;
}

function worthOffering() {
  if (!supported() || Notification.permission === 'denied') return false;
  if (notificationPrefs().enabled && Notification.permission === 'granted') return false;
  const later = Number(localStorage.getItem(LATER_KEY) || 0);
  return Date.now() - later > LATER_FOR;
}

// A bar above the chats (in the page's flow, so it never covers what is under it).
export function offerNotifications() {
  const text = h('p', { class: 'notify-offer-text', id: 'notify-offer-text' }, t('notify_offer'));
  const enable = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'notify-offer-enable' }, t('notify_offer_enable'));
  const later = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'notify-offer-later' }, t('notify_offer_later'));
  const actions = h('div', { class: 'notify-offer-actions' }, enable, later);
  const element = h('section', { class: 'notify-offer', 'aria-labelledby': 'notify-offer-text', 'data-testid': 'notify-offer', hidden: true }, text, actions);
  let offered = false;

  function offer() {
    if (offered || !worthOffering()) return;
    offered = true;
    element.hidden = false;
  }

  function close() {
    element.hidden = true;
  }

  // A problem stays in the bar, in words, with a button to put it away.
  function tell(problem) {
    text.textContent = problem;
    element.dataset.state = 'problem';
    const ok = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'notify-offer-close' }, t('close'));
    ok.addEventListener('click', close);
    actions.replaceChildren(ok);
    ok.focus();
  }

  enable.addEventListener('click', async () => {
    enable.disabled = later.disabled = true;
    try {
      const result = await enablePush();
      if (result === 'granted') return close();
      localStorage.setItem(LATER_KEY, String(Date.now()));
      tell(enableProblem(result));
    } catch (error) {
      const problem = describeApiError(error);
      tell(problem.text ?? t(problem.key));
    }
  });
  later.addEventListener('click', () => {
    localStorage.setItem(LATER_KEY, String(Date.now()));
    close();
  });

  if (loggedInNow) {
    loggedInNow = false;
    queueMicrotask(offer);
  }
  const off = on('incoming', offer);
  return { element, destroy: off };
}
