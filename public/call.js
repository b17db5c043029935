// Calls (docs/calls.md): one RTCPeerConnection per call, signalled through the server's `call`
// frames. The server judges the call's state; this module follows it, carries the signals
// (offer, answer, candidates, ICE restarts) sealed end to end for the other person's device
// (a signal that does not open is never used) and reports what the screen shows.
import { request } from '/api.js';
import { openSignal, sealSignal } from '/e2ee.js';
import { emit } from '/events.js';

const RESTART_AFTER = 2000; // ms a connection may stay "disconnected" before an ICE restart
const GIVE_UP_AFTER = 20000; // ms without media after a break before the call ends as failed
const ENDED_SHOWN = 2500; // ms the ended screen stays
const enc = encodeURIComponent;

// Tests force relay-only ICE (window.__payambarTest = { iceTransportPolicy: 'relay' }).
const testHooks = () => globalThis.__payambarTest ?? {};

export const device = (crypto.randomUUID?.() ?? `${Date.now()}${Math.random()}`).replace(/[^0-9a-z]/gi, '').slice(0, 32);

let transport = null; // { sendFrame(frame) -> bool } (the live connection)
let current = null; // the call on screen
const incoming = new Map(); // call id -> a ringing call not (yet) on screen
const lastSeen = new Map(); // call id -> the newest frame number handled
let autoAnswer = null; // a call to answer as soon as it rings here (the other side of a glare)

export function attachCalls(connection) {
  transport = connection;
}

export function currentCall() {
  return current;
}

// ---- signalling -----------------------------------------------------------------------------

async function act(call, action, fields = {}) {
  const frame = { type: `call_${action}`, call_id: call.id, ...fields };
  if (transport?.sendFrame(frame)) return;
  await request('POST', `/api/calls/${enc(call.id)}/${action}`, fields);
}

// A signal sealed for the other person's device in the call (every device of theirs until one
// has answered); `fresh` checks their keys anew (a call's first signal). Throws SendBlocked when it
// cannot be sealed: then nothing is sent.
function seal(call, payload, fresh = false) {
  return sealSignal(call.peer, call.id, payload, { devices: call.peerDevice ? [call.peerDevice] : null, fresh });
}

// Signals go out in the order they were made (a ratchet and the ICE agent both want that).
function sendSignal(call, payload) {
  call.sending = call.sending.then(async () => act(call, 'signal', { device, signal: await seal(call, payload) })).catch(() => {});
  return call.sending;
}

// A signal of this call from the other person, opened and checked: {payload, from} or null when it
// does not open, belongs to another call, or comes from a device other than the one in the call.
// The offer is the one signal without a call id (the server names the call when it takes it).
async function openedSignal(call, text, { offer = false } = {}) {
  try {
    const { inner, device: from } = await openSignal(call.peer, text);
    if (offer ? inner.call_id !== null : inner.call_id !== call.id) throw new Error('a signal of another call');
    if (call.peerDevice && call.peerDevice !== from) throw new Error('a signal from another device');
    return { payload: inner.signal, from };
  } catch (error) {
    console.warn('a call signal was not used:', error?.message ?? error);
    return null;
  }
}

// Every `call` frame, live or fetched; each handled once, in order (opening a signal takes a
// moment, and the next frame waits for it), a gap filled from the server.
let frames = Promise.resolve();

function inOrder(work) {
  const run = frames.then(work, work);
  frames = run.catch(() => {});
  return run;
}

export function handleCallFrame(frame) {
  return inOrder(() => follow(frame));
}

async function follow(frame) {
  const seen = lastSeen.get(frame.call_id) ?? 0;
  if (frame.n <= seen) return;
  if (frame.n > seen + 1) return catchUp(frame.call_id, seen);
  lastSeen.set(frame.call_id, frame.n);
  await apply(frame);
}

async function catchUp(callId, after) {
  try {
    const answer = await request('GET', `/api/calls/${enc(callId)}?after=${after}`);
    for (const frame of answer.events) await follow(frame);
  } catch {
    // the call is gone from the server: nothing to follow
  }
}

// After (re)connecting: the calls the server says this person is in, and how ours stands.
export function resumeCalls() {
  return inOrder(async () => {
    try {
      const answer = await request('GET', '/api/calls');
      for (const { events } of answer.calls) for (const frame of events) await follow(frame);
      if (current && !answer.calls.some(({ call }) => call.call_id === current.id)) await catchUp(current.id, lastSeen.get(current.id) ?? 0);
    } catch {
      // offline: the next connection tries again
    }
  });
}

async function apply(frame) {
  // The invite's own frame may come over the socket before its HTTP answer names the call.
  if (frame.event === 'invited' && frame.device === device && current?.role === 'caller' && !current.id) current.id = frame.call_id;
  const call = current?.id === frame.call_id ? current : incoming.get(frame.call_id);
  switch (frame.event) {
    case 'incoming':
      return ring(frame);
    case 'invited':
      return;
    case 'ringing':
      if (call === current && call.state === 'calling') setState(call, 'ringing');
      return;
    case 'answered':
      return answered(call, frame);
    case 'signal': {
      const signal = call && (await openedSignal(call, frame.signal));
      if (signal) return received(call, signal.payload);
      return;
    }
    case 'ended':
      return ended(call, frame);
  }
}

// ---- starting and answering ---------------------------------------------------------------

function newCall(fields) {
  return {
    id: null, peer: null, media: 'audio', role: 'caller', state: 'idle', reason: null,
    pc: null, local: null, remote: new MediaStream(), queued: [], early: [], offer: null, peerDevice: null, sending: Promise.resolve(),
    answeredAt: null, muted: false, cameraOff: false, code: null, relayed: null, restarting: null, brokeAt: null,
    ...fields,
  }; // prettier-ignore
}

function setState(call, state, reason = null) {
  call.state = state;
  if (reason) call.reason = reason;
  emit('call', call);
}

async function iceConfiguration(peer) {
  const answer = await request('GET', `/api/calls/ice-servers?peer=${enc(peer)}`);
  const configuration = { iceServers: answer.ice_servers };
  if (testHooks().iceTransportPolicy) configuration.iceTransportPolicy = testHooks().iceTransportPolicy;
  return configuration;
}

async function openMedia(media) {
  return navigator.mediaDevices.getUserMedia({ audio: true, video: media === 'video' ? { facingMode: 'user' } : false });
}

function connect(call, configuration) {
  const pc = new RTCPeerConnection(configuration);
  call.pc = pc;
  for (const track of call.local.getTracks()) pc.addTrack(track, call.local);
  pc.ontrack = (event) => {
    if (!call.remote.getTracks().includes(event.track)) call.remote.addTrack(event.track);
    emit('call', call);
  };
  pc.onicecandidate = (event) => {
    if (!event.candidate) return;
    const payload = { candidate: event.candidate.toJSON() };
    if (call.id) sendSignal(call, payload);
    else call.early.push(payload); // the call id comes with the invite's answer
  };
  pc.onconnectionstatechange = () => connectionChanged(call);
  return pc;
}

export async function startCall(peer, media = 'audio') {
  if (current) return current;
  const call = newCall({ peer, media, role: 'caller', state: 'calling' });
  current = call;
  emit('call', call);
  try {
    const configuration = await iceConfiguration(peer);
    call.local = await openMedia(media);
    if (current !== call) return stopMedia(call);
    const pc = connect(call, configuration);
    await pc.setLocalDescription(await pc.createOffer());
    const offer = await seal(call, { sdp: pc.localDescription.toJSON() }, true);
    if (current !== call) return stopMedia(call);
    const answer = await request('POST', '/api/calls', { to: peer, media, device, signal: offer });
    call.id = answer.call.call_id;
    for (const frame of answer.events) await handleCallFrame(frame);
    for (const payload of call.early.splice(0)) sendSignal(call, payload);
  } catch (error) {
    failLocally(call, notStarted(error));
  }
  return call;
}

// Why a call could not start, as the screen says it.
function notStarted(error) {
  if (error?.code === 'call_not_allowed') return 'not_allowed';
  if (error?.code === 'already_in_call') return 'busy';
  if (error?.code === 'identity_changed') return 'identity_changed';
  if (['not_encrypted', 'keys_rejected', 'keys_unavailable', 'device_not_ready'].includes(error?.code)) return 'not_encrypted';
  return 'failed';
}

async function ring(frame) {
  if (frame.state !== 'ringing' || incoming.has(frame.call_id) || current?.id === frame.call_id) return;
  const call = newCall({ id: frame.call_id, peer: frame.from, media: frame.media, role: 'callee', state: 'incoming' });
  // An offer that does not open here (not sealed for this device, not sealed at all) does not ring.
  const offer = await openedSignal(call, frame.signal, { offer: true });
  if (offer?.payload.sdp?.type !== 'offer') return;
  call.offer = offer.payload;
  call.peerDevice = offer.from;
  incoming.set(call.id, call);
  if (autoAnswer === call.id) {
    acceptCall(call);
    return;
  }
  // While calling this same person the glare rule decides; while in another call, it waits.
  if (current) return;
  current = call;
  act(call, 'ringing', { device }).catch(() => {});
  emit('call', call);
}

export async function acceptCall(call = current) {
  if (!call || call.role !== 'callee' || call.state !== 'incoming') return;
  if (current && current !== call) dropLocally(current);
  current = call;
  incoming.delete(call.id);
  setState(call, 'connecting');
  try {
    const configuration = await iceConfiguration(call.peer);
    call.local = await openMedia(call.media);
    const pc = connect(call, configuration);
    await pc.setRemoteDescription(call.offer.sdp);
    await pc.setLocalDescription(await pc.createAnswer());
    for (const payload of call.queued.splice(0)) await received(call, payload);
    await act(call, 'answer', { device, signal: await seal(call, { sdp: pc.localDescription.toJSON() }, true) });
    for (const payload of call.early.splice(0)) sendSignal(call, payload);
  } catch (error) {
    if (error.code === 'answered_elsewhere' || error.code === 'call_over') return dropLocally(call);
    hangUp(call, true);
  }
}

export function declineCall(call = current) {
  if (!call || call.state !== 'incoming') return;
  act(call, 'decline').catch(() => {});
  finish(call, 'declined');
}

export function hangUp(call = current, failed = false) {
  if (!call || call.state === 'ended') return;
  if (call.id) act(call, 'hangup', { device, failed }).catch(() => {});
  finish(call, failed ? 'failed' : call.answeredAt ? 'hangup' : 'cancelled');
}

// ---- what the server tells ------------------------------------------------------------------

async function answered(call, frame) {
  if (!call) return;
  if (call.role === 'callee') {
    if (frame.device === device) return setState(call, 'connecting');
    incoming.delete(call.id);
    if (call === current) finish(call, 'answered_elsewhere');
    return;
  }
  const answer = await openedSignal(call, frame.signal);
  if (answer?.payload.sdp?.type !== 'answer') return hangUp(call, true);
  call.peerDevice = answer.from; // from now on every signal is sealed for the device that answered
  call.answeredAt = Date.now();
  setState(call, 'connecting');
  await call.pc.setRemoteDescription(answer.payload.sdp);
  for (const payload of call.queued.splice(0)) await received(call, payload);
}

async function received(call, payload) {
  const pc = call.pc;
  if (!pc || !pc.remoteDescription) {
    call.queued.push(payload); // candidates before the offer or answer they belong to: kept
    return;
  }
  if (payload.candidate) return pc.addIceCandidate(payload.candidate).catch(() => {});
  if (payload.restart && call.role === 'caller') return restartIce(call);
  if (payload.sdp?.type === 'offer') {
    // The caller restarted ICE: answer on the same connection.
    await pc.setRemoteDescription(payload.sdp);
    await pc.setLocalDescription(await pc.createAnswer());
    return sendSignal(call, { sdp: pc.localDescription.toJSON() });
  }
  if (payload.sdp?.type === 'answer' && pc.signalingState === 'have-local-offer') await pc.setRemoteDescription(payload.sdp);
}

function ended(call, frame) {
  if (frame.reason === 'glare' && frame.replaced_by) {
    // They called at the same moment and their call reached the server first: take that one.
    if (call) dropLocally(call);
    autoAnswer = frame.replaced_by;
    const theirs = incoming.get(frame.replaced_by);
    if (theirs) acceptCall(theirs);
    return;
  }
  if (!call) return;
  incoming.delete(call.id);
  if (call !== current) return;
  finish(call, frame.reason);
}

// ---- the connection ---------------------------------------------------------------------------

function connectionChanged(call) {
  const state = call.pc?.connectionState;
  if (call !== current || call.state === 'ended') return;
  if (state === 'connected') {
    call.brokeAt = null;
    clearTimeout(call.restarting);
    if (!call.answeredAt) call.answeredAt = Date.now();
    if (call.state !== 'connected') onConnected(call);
    setState(call, 'connected');
  } else if (state === 'disconnected' || state === 'failed') {
    call.brokeAt ??= Date.now();
    setState(call, 'reconnecting');
    clearTimeout(call.restarting);
    call.restarting = setTimeout(() => networkChanged(call), state === 'failed' ? 0 : RESTART_AFTER);
    setTimeout(() => call.brokeAt && Date.now() - call.brokeAt >= GIVE_UP_AFTER && hangUp(call, true), GIVE_UP_AFTER + 100);
  }
}

async function onConnected(call) {
  call.code = await shortCode(call.pc.localDescription?.sdp ?? '', call.pc.remoteDescription?.sdp ?? '');
  const pair = await selectedPair(call.pc);
  call.relayed = pair ? pair.local === 'relay' || pair.remote === 'relay' : null;
  emit('call', call);
  if (call.role === 'caller') act(call, 'connected', { relayed: Boolean(call.relayed) }).catch(() => {});
}

// A network change (or a break): the caller restarts ICE with fresh credentials; the callee asks it to.
function networkChanged(call = current) {
  if (!call?.pc || call.state === 'ended' || !call.answeredAt) return;
  if (call.role === 'callee') return sendSignal(call, { restart: true });
  return restartIce(call);
}

async function restartIce(call) {
  const pc = call.pc;
  try {
    pc.setConfiguration(await iceConfiguration(call.peer));
  } catch {
    // the old credentials may still do
  }
  if (pc.signalingState !== 'stable') return;
  await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
  sendSignal(call, { sdp: pc.localDescription.toJSON() });
}

window.addEventListener('online', () => current && current.state !== 'ended' && networkChanged(current));

// ---- the end ------------------------------------------------------------------------------------

function stopMedia(call) {
  for (const track of call.local?.getTracks() ?? []) track.stop();
  call.pc?.close();
  call.pc = null;
}

function dropLocally(call) {
  stopMedia(call);
  incoming.delete(call.id);
  if (current === call) {
    current = null;
    emit('call', null);
  }
}

function failLocally(call, reason) {
  stopMedia(call);
  finish(call, reason);
}

function finish(call, reason) {
  stopMedia(call);
  clearTimeout(call.restarting);
  setState(call, 'ended', reason);
  setTimeout(() => {
    if (current !== call) return;
    current = null;
    emit('call', null);
    const waiting = [...incoming.values()].find((each) => each.state === 'incoming');
    if (!waiting) return;
    current = waiting; // a call that rang meanwhile
    act(waiting, 'ringing', { device }).catch(() => {});
    emit('call', waiting);
  }, ENDED_SHOWN);
}

// ---- controls ------------------------------------------------------------------------------------

export function toggleMute(call = current) {
  if (!call?.local) return;
  call.muted = !call.muted;
  for (const track of call.local.getAudioTracks()) track.enabled = !call.muted;
  emit('call', call);
}

export function toggleCamera(call = current) {
  if (!call?.local) return;
  call.cameraOff = !call.cameraOff;
  for (const track of call.local.getVideoTracks()) track.enabled = !call.cameraOff;
  emit('call', call);
}

export async function switchCamera(call = current) {
  const sender = call?.pc?.getSenders().find((each) => each.track?.kind === 'video');
  if (!sender) return;
  const cameras = (await navigator.mediaDevices.enumerateDevices()).filter((each) => each.kind === 'videoinput');
  const now = sender.track.getSettings().deviceId;
  const next = cameras[(cameras.findIndex((each) => each.deviceId === now) + 1) % cameras.length];
  const stream = await navigator.mediaDevices.getUserMedia({ video: next ? { deviceId: { exact: next.deviceId } } : { facingMode: 'environment' } });
  const [track] = stream.getVideoTracks();
  track.enabled = !call.cameraOff;
  const old = sender.track;
  await sender.replaceTrack(track);
  call.local.removeTrack(old);
  old.stop();
  call.local.addTrack(track);
  emit('call', call);
}

// ---- facts about a call -------------------------------------------------------------------------

async function selectedPair(pc) {
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((each) => {
    if (each.type === 'transport' && each.selectedCandidatePairId) pair = stats.get(each.selectedCandidatePairId);
  });
  if (!pair) stats.forEach((each) => each.type === 'candidate-pair' && each.nominated && each.state === 'succeeded' && (pair = each));
  if (!pair) return null;
  return { local: stats.get(pair.localCandidateId)?.candidateType, remote: stats.get(pair.remoteCandidateId)?.candidateType };
}

// What the call's connection carries now: the selected pair's candidate types and bytes received.
export async function callStats(call = current) {
  const pc = call?.pc;
  if (!pc) return null;
  const stats = await pc.getStats();
  const inbound = { audio: 0, video: 0 };
  stats.forEach((each) => {
    if (each.type === 'inbound-rtp') inbound[each.kind] = (inbound[each.kind] ?? 0) + (each.bytesReceived ?? 0);
  });
  return { pair: await selectedPair(pc), inbound, state: pc.connectionState, code: call.code };
}

// The short code both people compare (docs/calls.md): SHA-256 over both DTLS fingerprints,
// sorted so each side computes the same, as eight digits. A server that swapped fingerprints
// to sit in the middle would make the two codes differ.
export async function shortCode(localSdp, remoteSdp) {
  const fingerprints = [fingerprintOf(localSdp), fingerprintOf(remoteSdp)];
  if (fingerprints.some((each) => !each)) return null;
  const text = fingerprints.sort().join('\n');
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  const number = ((digest[0] << 24) | (digest[1] << 16) | (digest[2] << 8) | digest[3]) >>> 0;
  const digits = String(number % 100000000).padStart(8, '0');
  return `${digits.slice(0, 4)} ${digits.slice(4)}`;
}

export function fingerprintOf(sdp) {
  const match = /^a=fingerprint:(\S+) (\S+)\s*$/im.exec(sdp ?? '');
  return match ? `${match[1].toLowerCase()} ${match[2].toUpperCase()}` : null;
}

// For tests and for anyone debugging a call from the console.
globalThis.__payambarCalls = { callStats, shortCode, currentCall, device };
