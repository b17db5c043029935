// A small tus 1.0 client (creation, HEAD to resume, PATCH in chunks, termination).
// Our own rather than tus-js-client: about a tenth of its size, no build step or vendoring, and
// it keeps the upload's address in the outbox (IndexedDB) next to its Blob, so a reload or a
// dropped network resumes from the server's offset in the same order as text messages.
import { ApiError, currentSession } from '/api.js';

const TUS = { 'Tus-Resumable': '1.0.0' };
export const CHUNK_BYTES = 256 * 1024; // small PATCHes: a cut on a bad network loses at most this

function authHeaders() {
  const token = currentSession()?.token;
  return token ? { ...TUS, authorization: `Bearer ${token}` } : { ...TUS };
}

async function errorOf(response) {
  const data = await response.json().catch(() => null);
  const detail = data?.error ?? {};
  return new ApiError(response.status, detail.code ?? `http_${response.status}`, detail.message, {
    retryAfter: response.headers.get('retry-after'),
  });
}

function base64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

async function call(method, url, headers = {}, body, signal) {
  try {
    return await fetch(url, { method, headers: { ...authHeaders(), ...headers }, body, signal, cache: 'no-store' });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', error.message);
  }
}

// `encrypted`: the bytes are sealed end to end (docs/e2ee.md §7.6); the server keeps them unread.
export async function createUpload(blob, name, signal, encrypted = false) {
  const metadata = `filename ${base64(name)}${encrypted ? `,encrypted ${base64('1')}` : ''}`;
  const response = await call('POST', '/api/uploads', { 'Upload-Length': String(blob.size), 'Upload-Metadata': metadata }, undefined, signal);
  if (response.status !== 201) throw await errorOf(response);
  return response.headers.get('location');
}

// {offset, length} as the server has them, or null when the upload is gone (expired, or
// never finished creating). A finished upload answers offset = length (its file's size).
export async function uploadState(location, signal) {
  const response = await call('HEAD', location, {}, undefined, signal);
  if (response.status === 404) return null;
  if (!response.ok) throw new ApiError(response.status, `http_${response.status}`);
  return { offset: Number(response.headers.get('upload-offset')), length: Number(response.headers.get('upload-length')) };
}

// One PATCH by XMLHttpRequest, the one browser API that reports upload progress.
function patch(location, offset, chunk, onBytes, signal) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PATCH', location);
    for (const [name, value] of Object.entries({ ...authHeaders(), 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) })) {
      request.setRequestHeader(name, value);
    }
    request.upload.onprogress = (event) => onBytes(event.loaded);
    request.onload = () => {
      if (request.status === 204) return resolve(Number(request.getResponseHeader('upload-offset')));
      let detail = {};
      try {
        detail = JSON.parse(request.responseText).error ?? {};
      } catch {
        // no JSON body
      }
      const error = new ApiError(request.status, detail.code ?? `http_${request.status}`, detail.message);
      error.offset = Number(request.getResponseHeader('upload-offset'));
      reject(error);
    };
    request.onerror = () => reject(new ApiError(0, 'network', 'upload cut'));
    request.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    signal?.addEventListener('abort', () => request.abort(), { once: true });
    request.send(chunk);
  });
}

// Sends the Blob (resuming at `location` when given); returns the file id. `onLocation` is told
// the address as soon as it exists, so the caller can keep it for a resume after a reload.
export async function uploadBlob({ blob, name, encrypted = false, location = null, onLocation, onProgress, signal }) {
  const known = location ? await uploadState(location, signal) : null;
  if (known && known.offset === known.length) return location.slice(location.lastIndexOf('/') + 1); // done before a reload
  let offset = known?.offset ?? null;
  if (offset == null) {
    location = await createUpload(blob, name, signal, encrypted);
    await onLocation?.(location);
    offset = 0;
  }
  onProgress?.(offset, blob.size);
  while (offset < blob.size) {
    const chunk = blob.slice(offset, offset + CHUNK_BYTES);
    try {
      const start = offset;
      offset = await patch(location, offset, chunk, (sent) => onProgress?.(start + sent, blob.size), signal);
    } catch (error) {
      if (error.status !== 409) throw error;
      offset = error.offset; // someone (a cut request) moved it: go on from the server's offset
    }
    onProgress?.(offset, blob.size);
  }
  return location.slice(location.lastIndexOf('/') + 1);
}

export async function cancelUpload(location) {
  if (location) await call('DELETE', location).catch(() => {});
}
