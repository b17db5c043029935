// What a chat shows about end-to-end encryption: a line in the header (encrypted or not), and
// above the composer a changed identity key to accept, a new device of the peer, or this device
// waiting for approval.
import * as e2ee from '/e2ee.js';
import { on } from '/events.js';
import { t } from '/i18n.js';
import { state } from '/model.js';
import { flushOutbox } from '/outbox.js';
import { h } from '/ui/dom.js';

export function encryptionParts(peer, peerName, { changed }) {
  const badge = h('span', { class: 'e2ee-badge', 'data-testid': 'e2ee-status', hidden: true });
  const notices = h('div', { class: 'e2ee-notices' });

  function notice(testid, text, buttonTestid, label, action) {
    const button = h('button', { type: 'button', class: 'secondary-button', 'data-testid': buttonTestid }, label);
    button.addEventListener('click', action);
    return h('div', { class: 'e2ee-notice', role: 'status', 'data-testid': testid }, h('p', { dir: 'auto' }, text), button);
  }

  function render() {
    const known = e2ee.peerState(peer);
    const encrypted = known.encrypted;
    badge.hidden = encrypted == null;
    badge.dataset.state = encrypted ? 'encrypted' : 'plaintext';
    badge.textContent = encrypted == null ? '' : t(encrypted ? 'e2ee_on' : 'e2ee_off');
    const shown = [];
    if (e2ee.device.status === 'needs_approval') {
      shown.push(h('div', { class: 'e2ee-notice', role: 'status', 'data-testid': 'device-needs-approval' }, h('p', {}, t('e2ee_needs_approval'))));
    } else if (e2ee.device.status === 'unavailable' && encrypted !== false) {
      shown.push(h('div', { class: 'e2ee-notice', role: 'status', 'data-testid': 'device-keys-unavailable' }, h('p', {}, t('e2ee_unavailable'))));
    }
    if (known.identityChanged) {
      const warning = notice('identity-warning', t('e2ee_identity_changed', { name: peerName() }), 'accept-identity', t('e2ee_accept_identity'), async () => {
        await e2ee.acceptIdentity(peer).catch(() => {});
        flushOutbox();
      });
      warning.classList.add('danger');
      warning.setAttribute('role', 'alert');
      shown.push(warning);
    } else if (known.unsealable || known.rejected) {
      const self = peer === state.me?.username;
      shown.push(h('div', { class: 'e2ee-notice danger', role: 'alert', 'data-testid': 'keys-rejected' }, h('p', { dir: 'auto' }, t(self ? 'e2ee_self_no_device' : 'e2ee_keys_rejected', { name: peerName() }))));
    } else if (known.newDevice) {
      shown.push(notice('new-device-notice', t('e2ee_new_device', { name: peerName() }), 'new-device-dismiss', t('e2ee_dismiss'), () => e2ee.dismissNewDevice(peer)));
    }
    notices.replaceChildren(...shown);
  }

  const off = on('e2ee', (who) => {
    if (who !== null && who !== peer) return;
    render();
    changed();
  });
  render();
  e2ee.refreshPeer(peer).catch(() => {});
  return { badge, notices, destroy: off };
}
