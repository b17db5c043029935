// The composer's emoji panel: a few categories of a fixed list (nothing is downloaded), a "recent"
// row kept in localStorage, and the picked emoji typed in where the caret is. The arrow keys move
// between emoji, Escape closes the panel and gives the focus back to its button.
import { t } from '/i18n.js';
import { h, pathIcon } from '/ui/dom.js';

const RECENT_KEY = 'payambar.emoji_recent';
const RECENT_MAX = 24;
const FACE = 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zM8.5 11a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm7 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zM12 17.5a5.5 5.5 0 0 0 5-3.5H7a5.5 5.5 0 0 0 5 3.5z';

const split = (text) => text.split(' ');

export const CATEGORIES = [
  ['smileys', split('😀 😃 😄 😁 😆 😅 😂 🤣 😊 😇 🙂 🙃 😉 😌 😍 🥰 😘 😗 😋 😛 😜 🤪 😎 🤓 🥳 🤩 😏 😒 😞 😔 😟 😕 🙁 😣 😖 😫 😩 🥺 😢 😭 😤 😠 😡 🤯 😳 🥵 🥶 😱 😨 😰 🤗 🤔 🤭 🤫 😶 😐 😑 😬 🙄 😯 😴 🤤 😪 🤐 🤢 🤧 😷 🤒 🤕')],
  ['people', split('👍 👎 👌 ✌️ 🤞 🤟 🤘 🤙 👈 👉 👆 👇 ☝️ ✋ 🤚 🖐️ 🖖 👋 👏 🙌 👐 🤲 🙏 🤝 💪 ✍️ 👀 🧠 👶 🧒 👦 👧 🧑 👨 👩 🧓 👴 👵 🙋 🙆 🙅 🤷 🤦 💁 🙇 👪 💑 💏')],
  ['nature', split('❤️ 🧡 💛 💚 💙 💜 🖤 🤍 💔 💕 💖 💗 💘 💝 🌹 🌷 🌸 🌼 🌻 🌺 🍀 🌿 🌳 🌴 🌵 🌙 ⭐ 🌟 ☀️ 🌈 ☁️ ❄️ 🔥 💧 🌊 🐶 🐱 🐭 🐰 🦊 🐻 🐼 🐨 🐯 🦁 🐮 🐷 🐸 🐵 🐔 🐧 🐦 🦋 🐝 🐢 🐟 🐬')],
  ['food', split('🍏 🍎 🍐 🍊 🍋 🍌 🍉 🍇 🍓 🍒 🍑 🥭 🍍 🥥 🥝 🍅 🥑 🥕 🌽 🥒 🥦 🧄 🧅 🥔 🍞 🧀 🥚 🍳 🥞 🍗 🍖 🍔 🍟 🍕 🌭 🥪 🌮 🍝 🍜 🍲 🍚 🍰 🎂 🍪 🍩 🍫 🍬 🍭 🍯 🥛 ☕ 🍵 🧃 🥤')],
  ['activities', split('⚽ 🏀 🏈 ⚾ 🎾 🏐 🏓 🏸 🥅 ⛳ 🏊 🚴 🏃 🧘 🎮 🎲 🧩 🎨 🎭 🎤 🎧 🎸 🎹 🎻 🥁 🎬 📷 📚 ✏️ 💼 💻 📱 ☎️ ⏰ 💡 🔑 🎁 🎈 🎉 🎊 ✈️ 🚗 🚕 🚌 🚲 🚀 🏠 🏫 🏥 🕌 ⛰️ 🏖️ 🌍 ✅ ❌ ❓ ❗ 💯')],
];

export function recentEmoji() {
  try {
    const list = JSON.parse(localStorage.getItem(RECENT_KEY));
    return Array.isArray(list) ? list.filter((item) => typeof item === 'string').slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

function remember(emoji) {
  const list = [emoji, ...recentEmoji().filter((item) => item !== emoji)].slice(0, RECENT_MAX);
  localStorage.setItem(RECENT_KEY, JSON.stringify(list));
}

// Types `text` into the field at its caret (replacing a selection), as typing would.
export function insertAtCaret(field, text) {
  const start = field.selectionStart ?? field.value.length;
  const end = field.selectionEnd ?? start;
  field.setRangeText(text, start, end, 'end');
  field.dispatchEvent(new Event('input', { bubbles: true }));
}

export function emojiPicker(input) {
  const button = h(
    'button',
    { type: 'button', class: 'icon-button emoji-button', 'data-testid': 'emoji-button', 'aria-label': t('emoji'), 'aria-expanded': 'false', 'aria-controls': 'emoji-panel' },
    pathIcon('emoji', FACE),
  );
  const tabs = h('div', { class: 'emoji-tabs', role: 'group', 'aria-label': t('emoji_categories') });
  const grid = h('div', { class: 'emoji-grid', role: 'group', 'data-testid': 'emoji-grid' });
  const panel = h('div', { class: 'emoji-panel', id: 'emoji-panel', role: 'region', 'aria-label': t('emoji'), 'data-testid': 'emoji-panel', hidden: true }, tabs, grid);

  function show(name) {
    const all = categories();
    const [current, list] = all.find(([key]) => key === name) ?? all[0];
    tabs.replaceChildren(
      ...all.map(([key, items]) =>
        h(
          'button',
          { type: 'button', class: 'emoji-tab', 'data-testid': `emoji-tab-${key}`, 'aria-pressed': key === current ? 'true' : 'false', 'aria-label': t(`emoji_${key}`), title: t(`emoji_${key}`), onclick: () => show(key) },
          items[0],
        ),
      ),
    );
    grid.setAttribute('aria-label', t(`emoji_${current}`));
    grid.replaceChildren(...list.map((emoji) => h('button', { type: 'button', class: 'emoji', 'data-testid': 'emoji', 'data-emoji': emoji }, emoji)));
  }

  function open() {
    show('recent'); // the recent row when there is one, else the first category
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    grid.querySelector('button')?.focus();
  }

  function close(returnFocus = true) {
    if (panel.hidden) return;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (returnFocus) button.focus();
  }

  button.addEventListener('click', () => (panel.hidden ? open() : close()));
  grid.addEventListener('click', (event) => {
    const choice = event.target.closest('.emoji');
    if (!choice) return;
    insertAtCaret(input, choice.dataset.emoji);
    remember(choice.dataset.emoji);
  });
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      return close();
    }
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 'down', ArrowUp: 'up' };
    if (!(event.key in moves) || !event.target.classList.contains('emoji')) return;
    event.preventDefault();
    const buttons = [...grid.children];
    const index = buttons.indexOf(event.target);
    const perRow = Math.max(1, Math.round(grid.clientWidth / (event.target.offsetWidth || 40)));
    let step = moves[event.key];
    if (step === 'down') step = perRow;
    else if (step === 'up') step = -perRow;
    else if (document.dir === 'rtl') step = -step; // right is backwards in Persian
    buttons[Math.min(buttons.length - 1, Math.max(0, index + step))].focus();
  });
  // Sending, or a click elsewhere, puts the panel away; the focus stays where it went.
  const outside = (event) => {
    // The path, not the target: a category's button is redrawn by its own click.
    const path = event.composedPath();
    if (!panel.hidden && !path.includes(panel) && !path.includes(button)) close(false);
  };
  document.addEventListener('click', outside);

  return { button, panel, close, destroy: () => document.removeEventListener('click', outside) };
}

// A dialog of the whole set (recent first) to react with: resolves with the emoji, or null.
export async function pickEmoji(title) {
  const sections = categories().map(([name, list]) =>
    h(
      'section',
      { class: 'emoji-section' },
      h('h3', { class: 'emoji-section-title' }, t(`emoji_${name}`)),
      h('div', { class: 'emoji-grid', role: 'group', 'aria-label': t(`emoji_${name}`) }, list.map((emoji) => h('button', { type: 'button', class: 'emoji', 'data-testid': 'reaction-picker-emoji', 'data-emoji': emoji, value: emoji, 'aria-label': emoji }, emoji))),
    ),
  );
  const dialog = h(
    'dialog',
    { class: 'dialog emoji-dialog', 'data-testid': 'reaction-picker', 'aria-label': title },
    h('h2', { class: 'dialog-title' }, title),
    h('div', { class: 'emoji-dialog-body' }, sections),
    h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'reaction-picker-cancel', value: '' }, t('cancel'))),
  );
  document.body.append(dialog);
  dialog.showModal();
  const picked = await new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(null));
    dialog.addEventListener('click', (event) => {
      const button = event.target.closest('button');
      if (event.target === dialog || button) resolve(button?.value || null);
    });
  });
  dialog.close();
  dialog.remove();
  if (picked) remember(picked);
  return picked;
}

// The categories with the recent row first, when there is one.
function categories() {
  const recent = recentEmoji();
  return recent.length ? [['recent', recent], ...CATEGORIES] : CATEGORIES;
}
