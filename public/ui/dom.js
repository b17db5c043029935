// Element building. Children that are strings become text nodes: user text never becomes HTML.
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'text') element.textContent = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function icon(name) {
  const paths = {
    back: 'M15.4 5.4 14 4l-8 8 8 8 1.4-1.4L8.8 12z',
    send: 'M3.4 20.4 21 12 3.4 3.6 3.4 10l12.6 2-12.6 2z',
    menu: 'M3 6h18v2H3zm0 5h18v2H3zm0 5h18v2H3z',
    more: 'M12 8a2 2 0 1 0 0-4 2 2 0 0 0 0 4zm0 2a2 2 0 1 0 0 4 2 2 0 0 0 0-4zm0 6a2 2 0 1 0 0 4 2 2 0 0 0 0-4z',
    close: 'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z',
    down: 'M7.4 8.6 12 13.2l4.6-4.6L18 10l-6 6-6-6z',
    clock: 'M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 18a8 8 0 1 1 0-16 8 8 0 0 1 0 16zm.5-13H11v6l5.2 3.2.8-1.3-4.5-2.7z',
    search: 'M15.5 14h-.8l-.3-.3A6.5 6.5 0 1 0 14 15.5l.3.3v.8l5 5 1.5-1.5-5-5zm-6 0A4.5 4.5 0 1 1 14 9.5 4.5 4.5 0 0 1 9.5 14z',
  };
  return pathIcon(name, paths[name]);
}

// A 24×24 icon of one SVG path, hidden from screen readers (its button carries the label).
export function pathIcon(name, d) {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('class', `icon icon-${name}`);
  const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

// Typed text reads in its own direction; an empty field (its placeholder) follows the page.
export function autoDirection(field) {
  const update = () => (field.value ? field.setAttribute('dir', 'auto') : field.removeAttribute('dir'));
  field.addEventListener('input', update);
  update();
  return update;
}

// A short message at the bottom of the screen that reads itself out and goes away.
export function toast(text) {
  document.querySelector('.toast')?.remove();
  const element = h('div', { class: 'toast', role: 'alert', 'data-testid': 'toast' }, text);
  document.body.append(element);
  setTimeout(() => element.remove(), 4000);
}

// Runs `work` once before the next frame however often it is asked for meanwhile (a burst of
// updates draws once); while the page is hidden there are no frames, so it runs on a timer.
export function coalesced(work) {
  let pending = false;
  const run = () => {
    pending = false;
    work();
  };
  return () => {
    if (pending) return;
    pending = true;
    if (document.visibilityState === 'visible') requestAnimationFrame(run);
    else setTimeout(run, 0);
  };
}
