// Registers the service worker and, when a new version is installed, offers to reload.
import { t } from '/i18n.js';
import { h } from '/ui/dom.js';

let reloadRequested = false;
let reloading = false;

export function watchForUpdates() {
  if (!('serviceWorker' in navigator)) return;
  // The first install also changes the controller (clients.claim); only a chosen update reloads.
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (!reloadRequested || reloading) return;
    reloading = true;
    location.reload();
  });
  // A module worker: it imports the protocol client to open sealed pushes.
  navigator.serviceWorker.register('/sw.js', { type: 'module' }).then((registration) => {
    if (registration.waiting && navigator.serviceWorker.controller) offerReload(registration.waiting);
    registration.addEventListener('updatefound', () => {
      const worker = registration.installing;
      worker?.addEventListener('statechange', () => {
        if (worker.state === 'installed' && navigator.serviceWorker.controller) offerReload(worker);
      });
    });
    setInterval(() => registration.update().catch(() => {}), 30 * 60 * 1000);
  }, () => {});
}

function offerReload(worker) {
  if (document.querySelector('.update-banner')) return;
  const button = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'update-reload' }, t('reload'));
  const banner = h('div', { class: 'update-banner', role: 'alert', 'data-testid': 'update-banner' }, h('span', {}, t('update_ready')), button);
  button.addEventListener('click', () => {
    reloadRequested = true;
    worker.postMessage({ type: 'skip-waiting' });
  });
  document.body.append(banner);
}
