// The live connection: a WebSocket that reconnects with backoff and resumes from the cursor,
// and a long-poll of /api/updates that takes over while WebSockets keep failing.
import { api } from '/api.js';

const BASE_DELAY = 1000;
const MAX_DELAY = 30000;
const HEALTHY_AFTER = 10000; // a connection this old counts as healthy: backoff starts over
const FALLBACK_AFTER = 3; // failed WebSocket attempts in a row before long-polling
const READY_TIMEOUT = 8000;
const PING_EVERY = 25000;
const PONG_TIMEOUT = 10000;
const CROWDED_RETRY = 60000; // after a 4009 close (too many connections of this account)
const ACK_TIMEOUT = 15000;
const POLL_TIMEOUT = 25;

export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(MAX_DELAY, BASE_DELAY * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export class Connection {
  // handlers: {token(), cursor(), onUpdate(update), onFrame(frame), onReady(frame), onState(state), onAuthError(code)}
  constructor(handlers) {
    this.handlers = handlers;
    this.socket = null;
    this.state = 'connecting';
    this.failures = 0;
    this.attempt = 0;
    this.pending = new Map();
    this.timers = {};
    this.polling = false;
    this.pollAnswering = false;
    this.pollGeneration = 0;
    this.pollAbort = null;
    this.stopped = true;
    this.onOnline = () => {
      this.reconnectNow();
      if (this.polling) this.restartPolling();
    };
    // A socket open across a network change is usually dead without knowing it yet.
    this.onOffline = () => {
      this.setState('offline');
      this.socket?.close();
    };
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    Object.values(this.timers).forEach(clearTimeout);
    this.stopPolling();
    this.closeSocket();
  }

  get isLive() {
    return this.state === 'online' || this.state === 'polling';
  }

  get socketReady() {
    return this.state === 'online' && this.socket?.readyState === WebSocket.OPEN;
  }

  setState(state) {
    if (!navigator.onLine && state !== 'online') state = 'offline';
    // Long-polling counts as connected only while its requests are answered (a server that is down
    // fails them too, and the app must not look connected then).
    if (this.polling && this.pollAnswering && state !== 'online' && state !== 'offline') state = 'polling';
    if (state === 'polling' && !this.pollAnswering) state = 'connecting';
    if (state === this.state) return;
    this.state = state;
    this.handlers.onState(state);
  }

  reconnectNow() {
    if (this.stopped) return;
    this.attempt = 0;
    this.failures = 0;
    clearTimeout(this.timers.retry);
    if (this.socket) return;
    this.connect();
  }

  connect() {
    if (this.stopped || this.socket) return;
    this.setState('connecting');
    const url = new URL('/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.onSocketClosed(null, 1006);
      return;
    }
    this.socket = socket;
    socket.ready = false;
    socket.onopen = () => {
      const cursor = this.handlers.cursor();
      // batch: frames that waited together arrive as one `updates` frame (fewer frames under load).
      const frame = { type: 'auth', token: this.handlers.token(), batch: true };
      if (cursor != null) frame.after = cursor;
      socket.send(JSON.stringify(frame));
    };
    socket.onmessage = (event) => this.onSocketFrame(socket, event.data);
    socket.onclose = (event) => this.onSocketClosed(socket, event.code);
    socket.onerror = () => {};
    this.timers.ready = setTimeout(() => !socket.ready && socket.close(), READY_TIMEOUT);
  }

  closeSocket() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.onclose = socket.onmessage = socket.onopen = null;
    try {
      socket.close();
    } catch {
      // already closed
    }
    this.failPending();
  }

  onSocketFrame(socket, data) {
    if (socket !== this.socket) return;
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    this.armHeartbeat(socket);
    if (frame.type === 'updates' && Array.isArray(frame.updates)) {
      for (const each of frame.updates) this.onFrame(socket, each);
      return;
    }
    this.onFrame(socket, frame);
  }

  onFrame(socket, frame) {
    if (frame.type === 'ready') return this.onReady(socket, frame);
    if (frame.type === 'pong') return;
    if (frame.type === 'ack') {
      // The ack stands in for the `message` update of this send, with the same seq.
      this.handlers.onUpdate({ type: 'message', seq: frame.seq, message: frame.message });
      return this.settle(frame.ref, frame, null);
    }
    if (frame.type === 'error' && this.pending.has(frame.ref)) return this.settle(frame.ref, null, frame);
    if (typeof frame.seq === 'number') return this.handlers.onUpdate(frame);
    this.handlers.onFrame(frame);
  }

  onReady(socket, frame) {
    socket.ready = true;
    clearTimeout(this.timers.ready);
    this.failures = 0;
    this.stopPolling();
    this.timers.healthy = setTimeout(() => (this.attempt = 0), HEALTHY_AFTER);
    this.setState('online');
    this.handlers.onReady(frame);
  }

  armHeartbeat(socket) {
    clearTimeout(this.timers.ping);
    clearTimeout(this.timers.pong);
    this.timers.ping = setTimeout(() => {
      if (socket !== this.socket) return;
      this.sendFrame({ type: 'ping' });
      this.timers.pong = setTimeout(() => socket === this.socket && socket.close(), PONG_TIMEOUT);
    }, PING_EVERY);
  }

  onSocketClosed(socket, code) {
    if (socket && socket !== this.socket) return;
    const wasReady = socket?.ready;
    this.socket = null;
    ['ready', 'healthy', 'ping', 'pong'].forEach((name) => clearTimeout(this.timers[name]));
    this.failPending();
    if (this.stopped) return;
    if (code === 4001 || code === 4003) {
      this.handlers.onAuthError(code);
      return;
    }
    if (code === 4009) {
      // Too many connections of this account: this one was the oldest. Updates keep coming by
      // long-polling, and the socket is tried again later, not at once (which would push out another).
      this.startPolling();
      this.setState('polling');
      this.timers.retry = setTimeout(() => this.connect(), CROWDED_RETRY);
      return;
    }
    if (!wasReady) this.failures += 1;
    if (this.failures >= FALLBACK_AFTER) this.startPolling();
    this.setState('connecting');
    const delay = code === 4008 ? 0 : backoffDelay(this.attempt);
    this.attempt += 1;
    this.timers.retry = setTimeout(() => this.connect(), delay);
  }

  sendFrame(frame) {
    if (this.socket?.readyState !== WebSocket.OPEN || !this.socket.ready) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  // Sends one message over the socket and resolves with the ack ({message, seq}).
  sendMessage(fields) {
    const ref = fields.client_id;
    return new Promise((resolve, reject) => {
      if (!this.sendFrame({ type: 'send', ref, ...fields })) return reject(new Error('socket closed'));
      const timer = setTimeout(() => this.settle(ref, null, { code: 'timeout' }), ACK_TIMEOUT);
      this.pending.set(ref, { resolve, reject, timer });
    });
  }

  settle(ref, ack, error) {
    const waiting = this.pending.get(ref);
    if (!waiting) return;
    this.pending.delete(ref);
    clearTimeout(waiting.timer);
    if (ack) waiting.resolve(ack);
    else waiting.reject(Object.assign(new Error(error.message || error.code), { code: error.code }));
  }

  failPending() {
    for (const ref of [...this.pending.keys()]) this.settle(ref, null, { code: 'disconnected' });
  }

  startPolling() {
    if (this.polling) return;
    this.polling = true;
    this.pollAnswering = false;
    this.poll(++this.pollGeneration);
  }

  stopPolling() {
    this.polling = false;
    this.pollGeneration += 1;
    this.pollAbort?.abort();
    this.pollAbort = null;
  }

  restartPolling() {
    this.stopPolling();
    this.startPolling();
  }

  async poll(generation) {
    const current = () => this.polling && !this.stopped && generation === this.pollGeneration;
    let errors = 0;
    let first = true;
    while (current()) {
      this.pollAbort = new AbortController();
      try {
        const answer = await api.updates(this.handlers.cursor(), first ? 0 : POLL_TIMEOUT, this.pollAbort.signal);
        if (!current()) return;
        errors = 0;
        this.pollAnswering = true;
        this.setState('polling');
        if (first) this.handlers.onReady({ type: 'ready', cursor: answer.cursor, polling: true });
        first = false;
        for (const update of answer.updates) this.handlers.onUpdate(update);
        for (const frame of answer.calls ?? []) this.handlers.onFrame(frame);
        this.handlers.onPollCursor(answer.cursor);
      } catch (error) {
        if (!current() || error.name === 'AbortError') return;
        if (error.status === 401) return this.handlers.onAuthError(4001);
        this.pollAnswering = false;
        this.setState('connecting');
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(Math.min(errors++, 5))));
      }
    }
  }
}
