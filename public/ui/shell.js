// The logged-in layout: the sidebar (chat list or settings) and the conversation panel.
// Wide screens show both side by side; phones show one at a time with back navigation.
import { device, setUpDevice } from '/e2ee.js';
import { on } from '/events.js';
import { t } from '/i18n.js';
import { state } from '/model.js';
import { connection, tellViewing } from '/session.js';
import { renderChatList } from '/ui/chatlist.js';
import { renderConversation } from '/ui/conversation.js';
import { mountIncomingBanner } from '/ui/incoming.js';
import { offerNotifications } from '/ui/notifyprompt.js';
import { h } from '/ui/dom.js';
import { renderSettings } from '/ui/settings.js';

function parseRoute(hash = location.hash) {
  // #/chat/{peer}, or #/chat/{peer}/{message id} to open the chat at that message (a search hit).
  const chat = hash.match(/^#\/chat\/([^/]+)(?:\/(\d+))?$/);
  if (chat) return { view: 'chat', peer: decodeURIComponent(chat[1]), message: chat[2] ? Number(chat[2]) : null };
  if (hash === '#/settings') return { view: 'settings', peer: null };
  return { view: 'list', peer: null };
}

export function renderShell(root) {
  const sidebar = h('nav', { class: 'sidebar', 'aria-label': t('chats') });
  const main = h('main', { class: 'main' });
  const layout = h('div', { class: 'layout', 'data-view': 'list' }, sidebar, main);
  const banner = connectionBanner();
  const incoming = mountIncomingBanner();
  const offer = offerNotifications();
  const keysNotice = deviceNotice();
  const linkNotice = linkRequestNotice();
  root.replaceChildren(banner.element, keysNotice.element, linkNotice.element, offer.element, layout);

  let sidebarScreen = null;
  let sidebarKind = null;
  let chatScreen = null;
  let chatPeer;

  let previousView = null;

  function show() {
    const route = parseRoute();
    // Lets the back button return through history when the chat was opened from the list.
    if (route.view === 'chat' && previousView === 'list') history.replaceState({ fromList: true }, '');
    previousView = route.view;
    layout.dataset.view = route.view === 'chat' ? 'chat' : 'list';
    const kind = route.view === 'settings' ? 'settings' : 'list';
    if (kind !== sidebarKind) {
      sidebarScreen?.destroy();
      sidebarKind = kind;
      sidebarScreen = kind === 'settings' ? renderSettings(sidebar) : renderChatList(sidebar);
    }
    if (route.peer !== chatPeer) {
      chatScreen?.destroy();
      chatPeer = route.peer;
      state.openPeer = route.peer;
      tellViewing();
      chatScreen = route.peer ? renderConversation(main, route.peer) : renderPlaceholder(main);
    }
    sidebarScreen.setActive?.(route.peer);
    if (route.message) {
      history.replaceState(history.state, '', `#/chat/${encodeURIComponent(route.peer)}`);
      chatScreen.jumpTo(route.message);
    }
  }

  window.addEventListener('hashchange', show);
  show();
  return {
    destroy() {
      window.removeEventListener('hashchange', show);
      banner.destroy();
      incoming.destroy();
      offer.destroy();
      keysNotice.destroy();
      linkNotice.destroy();
      sidebarScreen?.destroy();
      chatScreen?.destroy();
    },
  };
}

function renderPlaceholder(main) {
  main.replaceChildren(h('div', { class: 'placeholder' }, h('p', { class: 'pill' }, t('select_chat'))));
  return { destroy() {} };
}

// A thin bar that says when the app waits for the network or is reconnecting.
// A person whose other devices hold the keys: this browser waits for their approval, and says so.
// Its button opens the link screen (a QR code and short code for the other device, or a new identity).
function deviceNotice() {
  const start = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'device-link-start' }, t('link_this_device'));
  const element = h('div', { class: 'shell-notice', role: 'status', 'data-testid': 'device-approval-banner', hidden: true }, t('e2ee_needs_approval'), ' ', start);
  start.addEventListener('click', async () => {
    const linking = await import('/ui/linking.js');
    const again = () => setUpDevice(state.me);
    linking.showLinkScreen(await linking.clientForMe(), document.body, { onLinked: again, onReset: again, onLater: () => {} });
  });
  const update = () => (element.hidden = device.status !== 'needs_approval');
  const off = on('e2ee', update);
  update();
  return { element, destroy: off };
}

// Another browser of this person asks to be linked (a `link` frame, session.js): said here, and
// the approval (where the codes are compared) opens only when the person chooses to review it, so
// this device never answers a request meant for another of their devices.
function linkRequestNotice() {
  const review = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'link-request-review' }, t('link_request_review'));
  const dismiss = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'link-request-dismiss' }, t('link_later'));
  const element = h('div', { class: 'shell-notice link-request', role: 'status', 'data-testid': 'link-request-notice', hidden: true }, h('span', {}, t('link_request_arrived')), ' ', review, ' ', dismiss);
  let frame = null;
  const hide = () => {
    frame = null;
    element.hidden = true;
  };
  const off = on('link-request', (next) => {
    if (next.state === 'requested' && device.status === 'ready') {
      frame = next;
      element.hidden = false;
    } else if (frame && next.id === frame.id) hide();
  });
  review.addEventListener('click', async () => {
    const asked = frame;
    hide();
    const linking = await import('/ui/linking.js');
    await linking.linkFrame(linking.clientForMe(), asked).catch(() => null);
  });
  dismiss.addEventListener('click', hide);
  return { element, destroy: off };
}

function connectionBanner() {
  const banner = h('div', { class: 'connection-banner', role: 'status', 'data-testid': 'offline-indicator', hidden: true });
  const update = (connectionState) => {
    const offline = !navigator.onLine || connectionState === 'offline';
    const text = offline ? t('offline') : connectionState === 'connecting' ? t('connecting') : '';
    banner.textContent = text;
    banner.hidden = !text;
    banner.dataset.state = offline ? 'offline' : connectionState;
    document.documentElement.classList.toggle('is-offline', offline);
    document.documentElement.dataset.connection = offline ? 'offline' : connectionState;
  };
  const off = on('connection', update);
  const onOffline = () => update('offline');
  window.addEventListener('offline', onOffline);
  update(connection?.state ?? 'connecting');
  return {
    element: banner,
    destroy() {
      off();
      window.removeEventListener('offline', onOffline);
    },
  };
}
