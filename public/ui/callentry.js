// A call history entry in the chat ("Missed call", "Outgoing call · 3:12", "Declined call").
import { startCall } from '/call.js';
import { t } from '/i18n.js';
import { isMine, peerOf } from '/model.js';
import { CALL_ICONS } from '/ui/callscreen.js';
import { h, pathIcon } from '/ui/dom.js';
import { formatDuration } from '/ui/media.js';

// What the person who called, and the person called, each read for an outcome.
const LABELS = {
  answered: ['call_outgoing', 'call_incoming'],
  declined: ['call_declined', 'call_declined'],
  cancelled: ['call_cancelled', 'call_missed'],
  no_answer: ['call_no_answer', 'call_missed'],
  busy: ['call_busy', 'call_missed'],
  failed: ['call_failed', 'call_missed'],
};

export function callLabel(message) {
  const record = message.call;
  if (!record) return '';
  const [mine, theirs] = LABELS[record.outcome] ?? LABELS.failed;
  const label = t(isMine(message) ? mine : theirs);
  return record.outcome === 'answered' ? `${label} · ${formatDuration(record.duration_ms)}` : label;
}

export function isMissed(message) {
  return Boolean(message.call) && !isMine(message) && message.call.outcome !== 'answered' && message.call.outcome !== 'declined';
}

export function renderCallEntry(message) {
  const record = message.call;
  const missed = isMissed(message);
  return h(
    'p',
    { class: `call-entry${missed ? ' missed' : ''}`, 'data-testid': 'call-entry', 'data-outcome': record.outcome, 'data-media': record.media },
    pathIcon(record.media === 'video' ? 'video' : 'phone', CALL_ICONS[record.media === 'video' ? 'video' : 'phone']),
    h('span', { class: 'call-entry-text', 'data-testid': 'call-entry-text' }, callLabel(message)),
    h(
      'button',
      { type: 'button', class: 'link-button call-back', 'data-testid': 'call-back', onclick: () => startCall(peerOf(message), record.media) },
      t('call_back'),
    ),
  );
}
