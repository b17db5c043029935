// Links inside message text: http(s), mailto and tel become anchors built with DOM calls;
// anything else (javascript:, data:, …) stays plain text.
import { h } from '/ui/dom.js';

const CANDIDATE = /(?:https?:\/\/|mailto:|tel:|www\.)[^\s<>"]+/gi;
const TRAILING = /[.,;:!?؟،؛)\]}»"'…]+$/u;
const ALLOWED = new Set(['http:', 'https:', 'mailto:', 'tel:']);

function safeUrl(candidate) {
  const raw = candidate.toLowerCase().startsWith('www.') ? `https://${candidate}` : candidate;
  try {
    const url = new URL(raw);
    return ALLOWED.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

// Closing punctuation after a link belongs to the sentence, unless the link opened it: "(see x.com/a_(b))".
function trimEnd(candidate) {
  let link = candidate.replace(TRAILING, '');
  while (link.length < candidate.length && candidate[link.length] === ')' && link.split('(').length > link.split(')').length) {
    link += ')';
  }
  return link;
}

// The first http(s) link of a text (www. read as https), or null: the one a preview is made for.
export function firstWebLink(text) {
  for (const match of text.matchAll(CANDIDATE)) {
    const href = safeUrl(trimEnd(match[0]));
    if (href && /^https?:/.test(href)) return href;
  }
  return null;
}

// The text as a list of strings and <a> elements, ready for append().
export function linkify(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(CANDIDATE)) {
    const link = trimEnd(match[0]);
    const href = safeUrl(link);
    if (!href) continue;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(h('a', { href, target: '_blank', rel: 'noopener noreferrer', class: 'text-link', dir: 'ltr', 'data-testid': 'message-link' }, link));
    last = match.index + link.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
