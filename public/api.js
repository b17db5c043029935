// HTTP calls to the Payambar API. Holds the session (token) and renews it quietly.
const SESSION_KEY = 'payambar.session';

export class ApiError extends Error {
  constructor(status, code, message, { field = null, retryAfter = null } = {}) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }

  get isNetwork() {
    return this.status === 0;
  }
}

let session = loadSession();
const unauthorizedListeners = new Set();

// The service worker opens sealed pushes while no page runs (sw.js), so it keeps a copy of the
// token and who it is for; told again whenever the session changes, and null at logout.
function shareWithWorker() {
  if (typeof document === 'undefined' || !globalThis.navigator?.serviceWorker) return; // a worker itself
  const shared = session?.token && session.user ? { token: session.token, user: { id: session.user.id, username: session.user.username } } : null;
  navigator.serviceWorker.ready.then((registration) => registration.active?.postMessage({ type: 'session', session: shared })).catch(() => {});
}
shareWithWorker();

function loadSession() {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY));
  } catch {
    return null;
  }
}

export function currentSession() {
  return session;
}

export function saveSession(answer) {
  session = {
    token: answer.token,
    expires_at: answer.expires_at,
    issued_at: new Date().toISOString(),
    user: answer.user,
  };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  shareWithWorker();
  return session;
}

export function updateSessionUser(user) {
  if (!session) return;
  session.user = { ...session.user, ...user };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export function forgetSession() {
  session = null;
  localStorage.removeItem(SESSION_KEY);
  shareWithWorker();
}

export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
}

export async function request(method, path, body, { signal, authenticated = true } = {}) {
  const headers = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (authenticated && session) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', error.message);
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  const detail = data?.error ?? {};
  const error = new ApiError(response.status, detail.code ?? 'http_' + response.status, detail.message, {
    field: detail.field ?? null,
    retryAfter: response.headers.get('retry-after'),
  });
  if (response.status === 401 && authenticated && session) {
    for (const listener of unauthorizedListeners) listener(error);
  }
  throw error;
}

const enc = encodeURIComponent;

export const api = {
  register: (fields) => request('POST', '/api/auth/register', fields, { authenticated: false }),
  login: (fields) => request('POST', '/api/auth/login', fields, { authenticated: false }),
  refresh: () => request('POST', '/api/auth/refresh'),
  logout: () => request('POST', '/api/auth/logout'),
  me: () => request('GET', '/api/me'),
  updateMe: (fields) => request('PATCH', '/api/me', fields),
  searchUsers: (q, signal) => request('GET', `/api/users?q=${enc(q)}&limit=20`, undefined, { signal }),
  user: (username) => request('GET', `/api/users/${enc(username)}`, undefined, { authenticated: false }),
  conversations: () => request('GET', '/api/conversations'),
  messages: (peer, { before = null, after = null, limit = 50 } = {}) =>
    request('GET', `/api/conversations/${enc(peer)}/messages?limit=${limit}${before ? `&before=${before}` : ''}${after != null ? `&after=${after}` : ''}`),
  changeChat: (peer, changes) => request('PATCH', `/api/conversations/${enc(peer)}`, changes),
  markRead: (peer, up_to) => request('POST', `/api/conversations/${enc(peer)}/read`, { up_to }),
  send: (fields) => request('POST', '/api/messages', fields),
  edit: (id, fields) => request('PATCH', `/api/messages/${id}`, fields),
  remove: (id) => request('DELETE', `/api/messages/${id}`),
  hide: (id) => request('DELETE', `/api/messages/${id}?for=me`),
  react: (id, fields) => request('PUT', `/api/messages/${id}/reaction`, fields),
  unreact: (id) => request('DELETE', `/api/messages/${id}/reaction`),
  pin: (id) => request('PUT', `/api/messages/${id}/pin`),
  unpin: (id) => request('DELETE', `/api/messages/${id}/pin`),
  pins: (peer) => request('GET', `/api/conversations/${enc(peer)}/pins`),
  linkPreview: (url, signal) => request('POST', '/api/link-preview', { url }, { signal }),
  changePassword: (fields) => request('POST', '/api/me/password', fields),
  search: (q, { peer = null, before = null, limit = 20 } = {}, signal) =>
    request('GET', `/api/search?q=${enc(q)}&limit=${limit}${peer ? `&peer=${enc(peer)}` : ''}${before ? `&before=${before}` : ''}`, undefined, { signal }),
  pushKey: () => request('GET', '/api/push/key'),
  addPushSubscription: (subscription) => request('POST', '/api/push/subscriptions', subscription),
  removePushSubscription: (endpoint) => request('DELETE', '/api/push/subscriptions', { endpoint }),
  updates: (after, timeout, signal) =>
    request('GET', `/api/updates?timeout=${timeout}${after == null ? '' : `&after=${after}`}`, undefined, { signal }),
};

// Renew when half of the token's life has passed; the old token stays valid meanwhile.
export function tokenNeedsRefresh(now = Date.now()) {
  if (!session) return false;
  const issued = Date.parse(session.issued_at);
  const expires = Date.parse(session.expires_at);
  if (Number.isNaN(issued) || Number.isNaN(expires)) return true;
  return now >= issued + (expires - issued) / 2;
}

export async function refreshToken() {
  const answer = await api.refresh();
  return saveSession(answer);
}
