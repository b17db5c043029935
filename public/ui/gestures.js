// Touch gestures on the message log: a long press opens a message's menu, a swipe toward the
// start of the line (as in Telegram) replies to it. Mouse and keyboard use the ⋮ button instead.
const LONG_PRESS = 450;
const MOVE_TOLERANCE = 10;
const SWIPE_TO_REPLY = 64;

export function attachGestures(log, { longPress, swipeReply }) {
  let press = null;
  let swallowClick = false;

  // The click that ends a long press would close the menu it just opened.
  log.addEventListener(
    'click',
    (event) => {
      if (!swallowClick) return;
      swallowClick = false;
      event.stopPropagation();
      event.preventDefault();
    },
    true,
  );

  function reset() {
    if (!press) return;
    clearTimeout(press.timer);
    press.bubble.style.transform = '';
    press.bubble.classList.remove('swiping');
    press = null;
  }

  log.addEventListener('pointerdown', (event) => {
    if (event.pointerType !== 'touch') return;
    const bubble = event.target.closest('.msg');
    if (!bubble || event.target.closest('a, button:not(.msg-actions)')) return;
    reset();
    press = { bubble, x: event.clientX, y: event.clientY, swiping: false, fired: false };
    press.timer = setTimeout(() => {
      if (!press || press.swiping) return;
      press.fired = true;
      longPress(bubble);
    }, LONG_PRESS);
  });

  log.addEventListener('pointermove', (event) => {
    if (!press || event.pointerType !== 'touch') return;
    const dx = event.clientX - press.x;
    const dy = event.clientY - press.y;
    if (!press.swiping && Math.hypot(dx, dy) > MOVE_TOLERANCE) {
      clearTimeout(press.timer);
      // A vertical move is a scroll; only a sideways one toward the start of the line replies.
      if (Math.abs(dy) > Math.abs(dx) || toStart(dx) <= 0) return reset();
      press.swiping = true;
      press.bubble.classList.add('swiping');
    }
    if (!press.swiping) return;
    const distance = Math.max(0, Math.min(toStart(dx), SWIPE_TO_REPLY * 1.5));
    press.bubble.style.transform = `translateX(${document.dir === 'rtl' ? distance : -distance}px)`;
    press.distance = distance;
  });

  const end = () => {
    if (press?.swiping && press.distance >= SWIPE_TO_REPLY) swipeReply(press.bubble);
    if (press?.fired) {
      swallowClick = true;
      setTimeout(() => (swallowClick = false), 400);
    }
    reset();
  };
  log.addEventListener('pointerup', end);
  log.addEventListener('pointercancel', reset);
}

// How far a horizontal move goes toward the start of the line: left in English, right in Persian.
function toStart(dx) {
  return document.dir === 'rtl' ? dx : -dx;
}
