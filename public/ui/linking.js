// Linking a browser to a person's devices (docs/e2ee.md §9), on both sides.
//
// showLinkScreen(client, root, {onLinked, onReset, onLater}): on a browser whose setUpDevice threw
// LinkRequired. Shows the QR code and its text (and the link's id), then the 6-digit code once an
// existing device answered, until the identity arrives; or starts a new identity instead.
// openApproveDialog(client, {link}): on an existing device. Picks a waiting request (or takes a
// pasted QR text or link id), shows the same 6-digit code, and approves only on "codes match".
// linkFrame(client, frame) opens that dialog for a `link` frame of another device's new request;
// linkDeviceSection() is the "link a device" entry in Settings.
// The crypto modules and the QR encoder load only when one of these is used.
import { t } from '/i18n.js';
import { state } from '/model.js';
import { ask } from '/ui/dialog.js';
import { h } from '/ui/dom.js';

let approving = null; // the open approval dialog: one at a time

async function linkModule() {
  return import('/crypto/link.js');
}

// This person's E2eeClient on this browser (the app may hand its own to the functions instead).
export async function clientForMe() {
  const { E2eeClient } = await import('/crypto/client.js');
  return E2eeClient.open({ id: state.me.id, username: state.me.username });
}

// The QR code of `text` as an SVG of dark modules on a light square (4 modules of quiet zone).
export async function qrSvg(text) {
  const { encodeQR } = await import('/vendor/qr/index.js');
  const rows = encodeQR(text, 'raw', { ecc: 'medium' });
  const size = rows.length + 8;
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('class', 'link-qr-code');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', t('link_qr_label'));
  svg.setAttribute('shape-rendering', 'crispEdges');
  const background = document.createElementNS(ns, 'rect');
  background.setAttribute('width', size);
  background.setAttribute('height', size);
  background.setAttribute('fill', '#ffffff');
  let d = '';
  rows.forEach((row, y) => row.forEach((dark, x) => (d += dark ? `M${x + 4} ${y + 4}h1v1h-1z` : '')));
  const modules = document.createElementNS(ns, 'path');
  modules.setAttribute('d', d);
  modules.setAttribute('fill', '#000000');
  svg.append(background, modules);
  return svg;
}

function problem(error) {
  if (error?.name === 'LinkRefused') return t('link_refused');
  if (error?.isNetwork) return t('link_offline');
  return t('link_failed');
}

// The new device's screen. Resolves once linked ('linked'), reset ('reset') or put off ('later').
export function showLinkScreen(client, root = document.body, { onLinked = () => {}, onReset = () => {}, onLater = null } = {}) {
  const qrBox = h('div', { class: 'link-qr', 'data-testid': 'link-qr' });
  const qrText = h('code', { class: 'link-qr-text', dir: 'ltr', 'data-testid': 'link-qr-text' });
  const linkId = h('code', { class: 'link-id', dir: 'ltr', 'data-testid': 'link-id' });
  const details = h('details', { class: 'link-details' }, h('summary', {}, t('link_show_text')), h('p', {}, t('link_text_hint')), qrText, h('p', {}, t('link_id_hint')), linkId);
  const code = h('p', { class: 'link-code', dir: 'ltr', 'data-testid': 'link-code', hidden: true });
  const codeHint = h('p', { class: 'link-hint', hidden: true }, t('link_code_hint'));
  const status = h('p', { class: 'link-status', role: 'status', 'data-testid': 'link-status' }, t('link_waiting'));
  const retry = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'link-retry', hidden: true }, t('link_retry'));
  const reset = h('button', { type: 'button', class: 'danger-button', 'data-testid': 'link-reset' }, t('link_reset'));
  const later = onLater ? h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'link-later' }, t('link_later')) : null;
  const screen = h(
    'section',
    { class: 'link-screen', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'link-title', 'data-testid': 'link-screen' },
    h(
      'div',
      { class: 'link-card' },
      h('h1', { id: 'link-title', class: 'dialog-title', tabindex: '-1' }, t('link_title')),
      h('p', { class: 'dialog-text' }, t('link_intro')),
      qrBox,
      details,
      code,
      codeHint,
      status,
      h('div', { class: 'dialog-actions' }, retry, later, reset),
    ),
  );
  root.append(screen);
  screen.querySelector('#link-title').focus();
  let request = null;
  let finished = false;
  let settle;
  const done = new Promise((resolve) => (settle = resolve));

  function close(outcome) {
    finished = true;
    screen.remove();
    settle(outcome);
  }

  async function run() {
    retry.hidden = true;
    code.hidden = codeHint.hidden = true;
    qrBox.hidden = details.hidden = false;
    status.dataset.state = 'waiting';
    status.textContent = t('link_starting');
    qrBox.replaceChildren();
    try {
      const link = await linkModule();
      request = await link.startLink(client);
      const mine = request;
      qrText.textContent = mine.qr;
      linkId.textContent = mine.linkId;
      qrBox.replaceChildren(await qrSvg(mine.qr));
      status.textContent = t('link_waiting');
      const shown = await mine.shortCode();
      if (finished || mine !== request) return;
      code.textContent = shown;
      code.hidden = codeHint.hidden = false;
      qrBox.hidden = details.hidden = true; // answered: the code is what matters now
      status.textContent = t('link_compare');
      await mine.finish();
      if (finished || mine !== request) return;
      status.dataset.state = 'linked';
      status.textContent = t('link_done');
      close('linked');
      onLinked();
    } catch (error) {
      if (finished) return;
      status.dataset.state = 'failed';
      status.textContent = problem(error);
      code.hidden = codeHint.hidden = true;
      retry.hidden = false;
    }
  }

  retry.addEventListener('click', () => run());
  later?.addEventListener('click', async () => {
    await request?.cancel();
    close('later');
    onLater();
  });
  reset.addEventListener('click', async () => {
    const answer = await ask({
      title: t('link_reset_title'),
      text: t('link_reset_warning'),
      answers: [{ label: t('link_reset_confirm'), value: 'reset', danger: true }],
    });
    if (answer !== 'reset') return;
    const pending = request;
    request = null;
    await pending?.cancel();
    try {
      await client.setUpDevice({ reset: true });
    } catch (error) {
      status.dataset.state = 'failed';
      status.textContent = problem(error);
      retry.hidden = false;
      return;
    }
    close('reset');
    onReset();
  });
  run();
  return { element: screen, done, close: () => request?.cancel().finally(() => close('closed')) };
}

// Shows the camera in `video` and calls found(text) with the first link QR code it reads (the
// vendored decoder, `/vendor/qr/decode.js`, four times a second). Answers a function that stops
// it; `stopped()` runs once it has.
async function scanQr(video, found, stopped) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment', width: { ideal: 640 } }, audio: false });
  const { decodeQR } = await import('/vendor/qr/decode.js');
  const { QR_PREFIX } = await linkModule();
  video.srcObject = stream;
  video.hidden = false;
  await video.play().catch(() => {});
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  let timer = null;
  const stop = () => {
    clearInterval(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
    video.hidden = true;
    stopped();
  };
  timer = setInterval(() => {
    if (!video.videoWidth) return;
    const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    let text = null;
    try {
      text = decodeQR(context.getImageData(0, 0, canvas.width, canvas.height));
    } catch {
      return; // no code in this frame
    }
    if (typeof text === 'string' && text.startsWith(QR_PREFIX)) found(text);
  }, 250);
  return stop;
}

// The approving device's dialog. `link`: a link object (from a frame or the list) to answer
// straight away; without it the dialog lists the waiting requests and takes a pasted code.
export function openApproveDialog(client, { link = null } = {}) {
  if (approving) return approving;
  const returnFocus = document.activeElement;
  const list = h('ul', { class: 'link-pending', 'data-testid': 'link-pending' });
  const paste = h('textarea', { class: 'link-paste', dir: 'ltr', rows: 3, 'data-testid': 'link-paste', 'aria-label': t('link_paste_label'), placeholder: t('link_paste_label') });
  const pasteSubmit = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'link-paste-submit' }, t('link_paste_submit'));
  const scan = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'link-scan', hidden: !navigator.mediaDevices?.getUserMedia }, t('link_scan'));
  const viewfinder = h('video', { class: 'link-viewfinder', muted: true, playsinline: true, 'aria-label': t('link_scan_view'), 'data-testid': 'link-viewfinder', hidden: true });
  const choose = h('div', { class: 'link-choose' }, h('p', { class: 'dialog-text' }, t('link_approve_intro')), list, scan, viewfinder, paste, pasteSubmit);
  const code = h('p', { class: 'link-code', dir: 'ltr', 'data-testid': 'link-approve-code', hidden: true });
  const status = h('p', { class: 'link-status', role: 'status', 'data-testid': 'link-approve-status' });
  const confirm = h('button', { type: 'button', class: 'primary-button', 'data-testid': 'link-approve-confirm', hidden: true }, t('link_codes_match'));
  const cancel = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'link-approve-cancel' }, t('cancel'));
  const dialog = h(
    'dialog',
    { class: 'dialog link-dialog', 'data-testid': 'link-approve-dialog', 'aria-labelledby': 'link-approve-title' },
    h('h2', { id: 'link-approve-title', class: 'dialog-title' }, t('link_approve_title')),
    choose,
    code,
    status,
    h('div', { class: 'dialog-actions' }, confirm, cancel),
  );
  document.body.append(dialog);
  dialog.showModal();
  let answer = null; // resolves the code question
  let chosen = null; // the link id being answered
  let closed = false;
  let settle;
  const done = new Promise((resolve) => (settle = resolve));

  let stopScan = null;

  function close(outcome) {
    if (closed) return;
    closed = true;
    stopScan?.();
    answer?.(false);
    dialog.close();
    dialog.remove();
    approving = null;
    returnFocus?.focus?.();
    settle(outcome);
  }

  async function approve(target) {
    choose.hidden = true;
    status.dataset.state = 'waiting';
    status.textContent = t('link_approve_waiting');
    const link = await linkModule();
    chosen = target.startsWith(link.QR_PREFIX) ? null : target;
    try {
      await link.approveLink(client, target, (shown) => {
        if (closed) return false;
        code.textContent = shown;
        code.hidden = false;
        confirm.hidden = false;
        status.textContent = t('link_approve_compare');
        confirm.focus();
        return new Promise((resolve) => (answer = resolve));
      });
      confirm.hidden = true;
      status.dataset.state = 'approved';
      status.textContent = t('link_approved');
      cancel.textContent = t('close');
      cancel.dataset.testid = 'link-approve-close';
      settle('approved');
    } catch (error) {
      if (closed) return;
      confirm.hidden = true;
      code.hidden = true;
      status.dataset.state = 'failed';
      status.textContent = problem(error);
    }
  }

  async function showPending() {
    try {
      const links = await (await linkModule()).pendingLinks(client);
      list.replaceChildren(
        ...links.map((each) => {
          const when = new Date(each.created_at).toLocaleTimeString();
          const pick = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'link-pick', 'data-link': each.id }, t('link_pick', { time: when }));
          pick.addEventListener('click', () => approve(each.id));
          return h('li', {}, pick);
        }),
      );
      if (!links.length) list.replaceChildren(h('li', { class: 'link-none', 'data-testid': 'link-none' }, t('link_none')));
    } catch (error) {
      status.textContent = problem(error);
    }
  }

  // The new device's QR code read from the camera: the same as pasting its text.
  scan.addEventListener('click', async () => {
    if (stopScan) return stopScan();
    status.textContent = '';
    const stopped = () => {
      stopScan = null;
      scan.textContent = t('link_scan');
    };
    try {
      stopScan = await scanQr(viewfinder, (text) => {
        stopScan?.();
        approve(text);
      }, stopped);
      scan.textContent = t('link_scan_stop');
    } catch {
      status.dataset.state = 'failed';
      status.textContent = t('link_scan_failed');
    }
  });

  pasteSubmit.addEventListener('click', () => {
    const text = paste.value.trim();
    if (text) approve(text);
  });
  confirm.addEventListener('click', () => {
    confirm.hidden = true;
    status.textContent = t('link_approving');
    answer?.(true);
    answer = null;
  });
  cancel.addEventListener('click', () => cancelDialog());
  dialog.addEventListener('cancel', (event) => {
    event.preventDefault();
    cancelDialog();
  });

  // A cancel while waiting for the new device closes the link; at the code it says "no".
  async function cancelDialog() {
    if (status.dataset.state === 'waiting' && !answer && chosen) {
      client.request('DELETE', `/api/keys/links/${chosen}`).catch(() => {});
    }
    close(status.dataset.state === 'approved' ? 'approved' : 'cancelled');
  }

  if (link) approve(link.id);
  else showPending();
  approving = { element: dialog, done, close: () => cancelDialog() };
  return approving;
}

// A `link` frame: another device of this person asked to be linked; ask here (when this browser
// has a device and no approval is open). `clientOrPromise`: an E2eeClient or clientForMe().
// Returns the dialog, or null.
export async function linkFrame(clientOrPromise, frame) {
  if (frame?.type !== 'link' || frame.state !== 'requested' || approving) return null;
  const client = await clientOrPromise;
  if (!(await client.hasDevice())) return null;
  let link;
  try {
    link = await client.request('GET', `/api/keys/links/${encodeURIComponent(frame.id)}`);
  } catch {
    return null; // closed or expired meanwhile
  }
  if (link.from_this_device || link.state !== 'requested') return null;
  return openApproveDialog(client, { link });
}

// Settings: "link a device", shown once this browser has a device of its own.
export function linkDeviceSection(getClient = clientForMe) {
  const open = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'link-device-open' }, t('link_device_open'));
  const section = h(
    'section',
    { class: 'settings-section', 'aria-labelledby': 'link-device-title', 'data-testid': 'section-link-device', hidden: true },
    h('h2', { id: 'link-device-title', class: 'settings-heading' }, t('link_device_title')),
    h('p', { class: 'form-note' }, t('link_device_hint')),
    open,
  );
  const client = getClient();
  client.then(async (ready) => (section.hidden = !(await ready.hasDevice()))).catch(() => {});
  open.addEventListener('click', async () => openApproveDialog(await client));
  return section;
}
