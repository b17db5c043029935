// The full-screen call: incoming (answer, decline, ringtone, vibration), calling and ringing,
// then the call itself (timer, mute, camera, switch camera, speaker, security code, hang up).
import { acceptCall, declineCall, hangUp, switchCamera, toggleCamera, toggleMute } from '/call.js';
import { on } from '/events.js';
import { t } from '/i18n.js';
import * as model from '/model.js';
import { startRingback, startRinging } from '/ringtone.js';
import { h, pathIcon } from '/ui/dom.js';
import { avatar } from '/ui/format.js';
import { formatDuration } from '/ui/media.js';

export const CALL_ICONS = {
  phone: 'M6.6 10.8a15.1 15.1 0 0 0 6.6 6.6l2.2-2.2a1 1 0 0 1 1-.3 11.4 11.4 0 0 0 3.6.6 1 1 0 0 1 1 1V20a1 1 0 0 1-1 1A17 17 0 0 1 3 4a1 1 0 0 1 1-1h3.5a1 1 0 0 1 1 1c0 1.2.2 2.5.6 3.6a1 1 0 0 1-.3 1z',
  video: 'M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z',
  hangup: 'M12 9c-1.6 0-3.2.3-4.6.7v3.1c0 .4-.2.7-.6.9-1 .5-1.9 1.1-2.7 1.8a1 1 0 0 1-1.4 0L.3 13.1a1 1 0 0 1 0-1.4A16.9 16.9 0 0 1 12 7c4.5 0 8.6 1.8 11.7 4.7a1 1 0 0 1 0 1.4l-2.4 2.4a1 1 0 0 1-1.4 0 11 11 0 0 0-2.7-1.8 1 1 0 0 1-.6-.9V9.7A14.8 14.8 0 0 0 12 9z',
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3a5.3 5.3 0 0 1-10.6 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z',
  switch: 'M20 5h-3.2L15 3H9L7.2 5H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2zm-5 11.5V14H9v2.5L5.5 13 9 9.5V12h6V9.5l3.5 3.5z',
  speaker: 'M3 9v6h4l5 5V4L7 9zm13.5 3A4.5 4.5 0 0 0 14 8v8a4.5 4.5 0 0 0 2.5-4zM14 3.2v2.1a7 7 0 0 1 0 13.4v2.1a9 9 0 0 0 0-17.6z',
};

const STATUS = {
  calling: 'call_calling',
  ringing: 'call_ringing',
  connecting: 'call_connecting',
  reconnecting: 'call_reconnecting',
};

function peerOf(call) {
  return model.state.chats.get(call.peer)?.peer ?? { username: call.peer, display_name: call.peer };
}

function control(name, label, iconName, onclick, extra = {}) {
  return h(
    'button',
    { type: 'button', class: `call-control call-${name}`, 'data-testid': `call-${name}`, 'aria-label': label, title: label, onclick, ...extra },
    pathIcon(iconName, CALL_ICONS[iconName]),
  );
}

export function mountCallScreen() {
  let screen = null;
  let shown = null;
  let ringing = null;
  let ticking = null;
  let speakers = [];

  function stopSounds() {
    ringing?.stop();
    ringing = null;
  }

  function sounds(call) {
    const wanted = call?.state === 'incoming' ? 'ring' : call?.state === 'ringing' && call.role === 'caller' ? 'ringback' : null;
    if (ringing?.kind === wanted) return;
    stopSounds();
    if (wanted === 'ring') ringing = Object.assign(startRinging(), { kind: 'ring' });
    if (wanted === 'ringback') ringing = Object.assign(startRingback(), { kind: 'ringback' });
  }

  function build(call) {
    const peer = peerOf(call);
    const remoteVideo = h('video', { class: 'call-remote-video', 'data-testid': 'call-remote-video', autoplay: true, playsinline: true, muted: true });
    const remoteAudio = h('audio', { 'data-testid': 'call-remote-audio', autoplay: true });
    const localVideo = h('video', { class: 'call-local-video', 'data-testid': 'call-local-video', autoplay: true, playsinline: true, muted: true });
    remoteVideo.muted = true; // the sound plays once, from the audio element
    localVideo.muted = true;
    const element = h(
      'div',
      { class: 'call-screen', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'call-peer-name', 'data-testid': 'call-screen' },
      remoteVideo,
      remoteAudio,
      localVideo,
      h(
        'div',
        { class: 'call-top' },
        h('span', { class: 'call-avatar' }, avatar(peer, 'avatar-large')),
        h('h2', { class: 'call-peer-name', id: 'call-peer-name', dir: 'auto', 'data-testid': 'call-peer-name' }, peer.display_name || peer.username),
        h('p', { class: 'call-status', 'data-testid': 'call-status', 'aria-live': 'polite' }),
        h('time', { class: 'call-timer', 'data-testid': 'call-timer', hidden: true }),
        h('p', { class: 'call-code', 'data-testid': 'call-code', hidden: true, title: t('call_code_hint') }),
      ),
      h('div', { class: 'call-controls' }),
    );
    document.body.append(element);
    return { element, remoteVideo, remoteAudio, localVideo, call };
  }

  function controls(call) {
    if (call.state === 'incoming') {
      return [
        control('decline', t('call_decline'), 'hangup', () => declineCall(call)),
        control('accept', t('call_accept'), call.media === 'video' ? 'video' : 'phone', () => acceptCall(call)),
      ];
    }
    if (call.state === 'ended') return [];
    const buttons = [control('mute', call.muted ? t('call_unmute') : t('call_mute'), 'mic', () => toggleMute(call), { 'aria-pressed': String(call.muted) })];
    if (call.media === 'video') {
      buttons.push(control('camera', t('call_camera'), 'video', () => toggleCamera(call), { 'aria-pressed': String(!call.cameraOff) }));
      buttons.push(control('switch-camera', t('call_switch_camera'), 'switch', () => switchCamera(call).catch(() => {})));
    }
    if (speakers.length > 1) buttons.push(control('speaker', t('call_speaker'), 'speaker', nextSpeaker));
    buttons.push(control('hangup', t('call_hangup'), 'hangup', () => hangUp(call)));
    return buttons;
  }

  // Where the browser lets a page pick the audio output: the next one in the list.
  async function nextSpeaker() {
    const audio = screen?.remoteAudio;
    if (!audio?.setSinkId) return;
    const index = speakers.findIndex((each) => each.deviceId === audio.sinkId);
    await audio.setSinkId(speakers[(index + 1) % speakers.length].deviceId).catch(() => {});
  }

  async function findSpeakers() {
    if (!('setSinkId' in HTMLMediaElement.prototype) || !navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices().catch(() => []);
    speakers = devices.filter((each) => each.kind === 'audiooutput');
  }

  function statusText(call) {
    if (call.state === 'incoming') return t(call.media === 'video' ? 'call_incoming_video' : 'call_incoming_audio');
    if (call.state === 'ended') return t(`call_ended_${call.reason ?? 'hangup'}`);
    if (call.state === 'connected') return t(call.media === 'video' ? 'call_video' : 'call_audio');
    return t(STATUS[call.state] ?? 'call_connecting');
  }

  function tick() {
    const call = screen?.call;
    const timer = screen?.element.querySelector('[data-testid=call-timer]');
    if (!call || !timer) return;
    timer.hidden = !call.answeredAt || call.state === 'incoming';
    timer.textContent = call.answeredAt ? formatDuration(Date.now() - call.answeredAt) : '';
    screen.element.dataset.ringtone = ringing?.kind === 'ring' && ringing.playing ? 'playing' : (ringing?.kind ?? 'off');
  }

  function render(call) {
    sounds(call);
    if (!call) {
      screen?.element.remove();
      screen = null;
      shown = null;
      clearInterval(ticking);
      document.documentElement.classList.remove('in-call');
      return;
    }
    if (shown !== call) {
      screen?.element.remove();
      screen = build(call);
      shown = call;
      findSpeakers();
      clearInterval(ticking);
      ticking = setInterval(tick, 1000);
      document.documentElement.classList.add('in-call');
    }
    const { element, remoteVideo, remoteAudio, localVideo } = screen;
    element.dataset.state = call.state;
    element.dataset.media = call.media;
    element.dataset.role = call.role;
    element.dataset.callId = call.id ?? '';
    element.dataset.reason = call.reason ?? '';
    element.dataset.ringtone = ringing?.kind === 'ring' && ringing.playing ? 'playing' : ringing?.kind ?? 'off';
    if (call.relayed != null) element.dataset.relayed = String(call.relayed);
    element.querySelector('[data-testid=call-status]').textContent = statusText(call);
    const code = element.querySelector('[data-testid=call-code]');
    code.hidden = !call.code;
    if (call.code && code.dataset.code !== call.code) {
      code.dataset.code = call.code;
      code.replaceChildren(t('call_code'), ' ', h('bdi', { dir: 'ltr', class: 'call-code-digits' }, call.code));
    }
    if (remoteAudio.srcObject !== call.remote) remoteAudio.srcObject = call.remote;
    const hasVideo = call.media === 'video' && call.remote.getVideoTracks().length > 0;
    remoteVideo.hidden = !hasVideo;
    if (hasVideo && remoteVideo.srcObject !== call.remote) remoteVideo.srcObject = call.remote;
    localVideo.hidden = call.media !== 'video' || !call.local || call.cameraOff;
    if (call.local && localVideo.srcObject !== call.local) localVideo.srcObject = call.local;
    element.querySelector('.call-controls').replaceChildren(...controls(call));
    tick();
    if (call.state === 'incoming' && !element.contains(document.activeElement)) element.querySelector('[data-testid=call-accept]')?.focus();
  }

  on('call', render);
}
