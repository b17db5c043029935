// Read means seen: the peer's messages count as read once at least half of one (or half the
// screen, for a long one) was on screen while the page was visible.
export function createSeenTracker(log, onSeen) {
  const onScreen = new Set(); // ids of unread messages on screen now
  const watched = new Set();
  let seenUpTo = 0;
  let enabled = false;

  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const id = Number(entry.target.dataset.id);
        const half = entry.intersectionRatio >= 0.5 || entry.intersectionRect.height >= (entry.rootBounds?.height ?? Infinity) / 2;
        if (entry.isIntersecting && half) onScreen.add(id);
        else onScreen.delete(id);
      }
      report();
    },
    { root: log, threshold: [0, 0.25, 0.5, 0.75, 1] },
  );

  function report() {
    if (!enabled || document.visibilityState !== 'visible' || !onScreen.size) return;
    const newest = Math.max(...onScreen);
    if (newest <= seenUpTo) return;
    seenUpTo = newest;
    onSeen(newest);
  }

  return {
    watch(element) {
      if (Number(element.dataset.id) <= seenUpTo || watched.has(element)) return;
      watched.add(element);
      observer.observe(element);
    },
    unwatch(element) {
      watched.delete(element);
      observer.unobserve(element);
      onScreen.delete(Number(element.dataset.id));
    },
    // Nothing counts as seen until the chat sits where it opens (at the first unread).
    // What was on screen before (the bottom, for a moment) does not count: observing again
    // measures every message where it is now.
    enable() {
      enabled = true;
      onScreen.clear();
      for (const element of watched) {
        observer.unobserve(element);
        observer.observe(element);
      }
    },
    report,
    destroy() {
      observer.disconnect();
    },
  };
}
