// Entry point: picks the screen for the URL and the session, and keeps the app up to date.
import { currentSession } from '/api.js';
import { initLanguage, onLanguageChange } from '/i18n.js';
import { startSession } from '/session.js';
import { renderAuth } from '/ui/auth.js';
import { renderPublicProfile, takeRedirect } from '/ui/profile.js';
import { applyTextSize } from '/ui/preferences.js';
import { mountCallScreen } from '/ui/callscreen.js';
import { renderShell } from '/ui/shell.js';
import { offerAfterLogin } from '/ui/notifyprompt.js';
import { watchForUpdates } from '/ui/update.js';

const root = document.getElementById('app');
let shell = null;
let sessionStarted = false;

function profileFromPath() {
  const match = location.pathname.match(/^\/u\/([^/]+)\/?$/);
  return match ? decodeURIComponent(match[1]) : null;
}

async function render() {
  shell?.destroy();
  shell = null;
  const profile = profileFromPath();
  if (profile) return renderPublicProfile(root, profile, render);
  if (!currentSession()) return renderAuth(root, { onLoggedIn });
  if (!sessionStarted) {
    sessionStarted = true;
    mountCallScreen();
    await startSession();
  }
  shell = renderShell(root);
}

function onLoggedIn() {
  offerAfterLogin();
  const target = takeRedirect();
  if (target) history.replaceState(null, '', target);
  render();
}

// A tapped notification asks the open app to show its chat.
navigator.serviceWorker?.addEventListener('message', (event) => {
  if (event.data?.type === 'open-chat' && event.data.chat) location.hash = `#/chat/${encodeURIComponent(event.data.chat)}`;
});

applyTextSize();
initLanguage();
onLanguageChange(() => shell && render());
render();
watchForUpdates();
