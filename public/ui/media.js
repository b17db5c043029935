// Photos, files and voice notes in the chat: what a bubble shows for an attachment, the photo
// viewer, the attach / record controls of the composer, and the profile photo picker.
// Files are fetched with the bearer token (never put in a URL) and shown from blob: URLs; a sealed
// file (an encrypted chat's) is checked against its envelope and opened on this device first.
import { currentSession, request, updateSessionUser } from '/api.js';
import { cancelAttachment, uploadProgress } from '/attachments.js';
import { unb64 } from '/crypto/bytes.js';
import { on } from '/events.js';
import { locale, t } from '/i18n.js';
import { blurhashCanvas } from '/ui/blurhash.js';
import { h, pathIcon, toast } from '/ui/dom.js';
import { uploadBlob } from '/upload.js';

const VOICE_TYPES = new Set(['audio/ogg', 'audio/webm']);
const SPEEDS = [1, 1.5, 2];
const MAX_AVATAR_SIDE = 1024;

const PATHS = {
  attach: 'M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6z',
  mic: 'M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5.3-3a5.3 5.3 0 0 1-10.6 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z',
  stop: 'M6 6h12v12H6z',
  play: 'M8 5v14l11-7z',
  pause: 'M6 19h4V5H6zm8-14v14h4V5z',
  download: 'M19 9h-4V3H9v6H5l7 7zM5 18v2h14v-2z',
  file: 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z',
  close: 'M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z',
  camera: 'M12 15.2a3.2 3.2 0 1 0 0-6.4 3.2 3.2 0 0 0 0 6.4zM9 2 7.2 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-3.2L15 2z',
};

const mediaIcon = (name) => pathIcon(name, PATHS[name]);

// ---- fetching ----------------------------------------------------------------------------------

export async function fetchBlob(url, onProgress, signal) {
  const token = currentSession()?.token;
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal });
  if (!response.ok) throw new Error(`download failed: ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.(loaded, total);
  }
  return new Blob(chunks, { type: response.headers.get('content-type') ?? '' });
}

const objectUrls = new Map(); // API url -> Promise of a blob: URL, for this page's life

export function objectUrl(url) {
  if (!objectUrls.has(url)) {
    const pending = fetchBlob(url).then((blob) => URL.createObjectURL(blob));
    pending.catch(() => objectUrls.delete(url));
    objectUrls.set(url, pending);
  }
  return objectUrls.get(url);
}

// What a sealed file may be shown as; anything else opens as bytes to save, never as a page.
const SHOWN_TYPES = /^(image\/(jpeg|png|webp|gif|avif)|audio\/(ogg|webm|mp4|mpeg)|video\/(mp4|webm))$/;

// A file's contents as a Blob. A sealed one: its ciphertext fetched, its digest and every chunk
// checked, opened here (a DecryptError, and nothing shown, when they do not check out).
export async function fileBlob(file, { onProgress, signal, download = false } = {}) {
  if (!file.sealed) return fetchBlob(`/api/files/${file.id}${download ? '?download=1' : ''}`, onProgress, signal);
  const [{ openFile }, sealed] = await Promise.all([import('/crypto/media.js'), fetchBlob(`/api/files/${file.id}`, onProgress, signal)]);
  return openFile(sealed, file.sealed, SHOWN_TYPES.test(file.mime) ? file.mime : 'application/octet-stream');
}

const opened = new Map(); // file id -> Promise of a blob: URL of a sealed file's opened contents

// A blob: URL of the file's contents (the whole file), fetched once for the page's life.
export function contentUrl(file) {
  if (!file.sealed) return objectUrl(`/api/files/${file.id}`);
  if (!opened.has(file.id)) {
    const pending = fileBlob(file).then((blob) => URL.createObjectURL(blob));
    pending.catch(() => opened.delete(file.id));
    opened.set(file.id, pending);
  }
  return opened.get(file.id);
}

// The small thumbnail a sealed photo's envelope brings, as a blob: URL (or null).
function previewUrl(file) {
  if (!file.preview) return null;
  try {
    return URL.createObjectURL(new Blob([unb64(file.preview.data)], { type: file.preview.mime }));
  } catch {
    return null;
  }
}

export function formatSize(bytes) {
  const units = [['size_mb', 1024 * 1024], ['size_kb', 1024]];
  for (const [key, unit] of units) {
    if (bytes >= unit) return t(key, { n: Number((bytes / unit).toFixed(1)) });
  }
  return t('size_b', { n: bytes });
}

export function formatDuration(ms) {
  const seconds = Math.max(0, Math.round((ms ?? 0) / 1000));
  const text = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
  return text.replace(/\d/g, (digit) => Number(digit).toLocaleString(locale()));
}

export function kindOf(file) {
  if (file.sealed) return ['photo', 'voice', 'video'].includes(file.type) ? file.type : 'file';
  if (file.mime?.startsWith('image/')) return 'photo';
  if (VOICE_TYPES.has(file.mime)) return 'voice';
  return 'file';
}

// A file message without text, in the chat list.
export function attachmentLabel(file) {
  if (!file) return '';
  const kind = kindOf(file);
  if (kind === 'video') return `${t('video')}${file.duration_ms ? ` ${formatDuration(file.duration_ms)}` : ''}`;
  return kind === 'photo' ? t('photo') : kind === 'voice' ? `${t('voice_message')} ${formatDuration(file.duration_ms)}` : file.name;
}

// What changes a bubble's attachment part (for the bubble signature).
export function attachmentSignature(message) {
  const file = message.attachment;
  return file ? `${file.local ? 'local' : file.id}` : '';
}

// ---- in a bubble -------------------------------------------------------------------------------

// `label` names a photo that stands in an album's grid (which sets its shape, not the photo).
export function renderAttachment(message, { label = null } = {}) {
  const file = message.attachment;
  const kind = kindOf(file);
  const body = kind === 'photo' ? photo(file, label) : kind === 'voice' ? voice(file) : kind === 'video' ? video(file) : fileCard(file);
  const wrap = h('div', { class: `attachment attachment-${kind}`, 'data-testid': `attachment-${kind}` }, body);
  if (file.local && message.status !== 'failed') wrap.append(progressRing(message));
  return wrap;
}

function progressRing(message) {
  const circle = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
  for (const [name, value] of Object.entries({ cx: '24', cy: '24', r: '20', class: 'ring-bar', pathLength: '100' })) circle.setAttribute(name, value);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 48 48');
  svg.setAttribute('aria-hidden', 'true');
  svg.append(circle);
  const cancel = h('button', { type: 'button', class: 'upload-cancel', 'aria-label': t('cancel_upload'), 'data-testid': 'upload-cancel' }, mediaIcon('close'));
  const ring = h('div', { class: 'upload-ring', role: 'progressbar', 'aria-label': t('uploading'), 'aria-valuemin': '0', 'aria-valuemax': '100', 'data-testid': 'upload-progress' }, svg, cancel);
  const show = () => {
    const progress = uploadProgress(message.client_id);
    const percent = progress && progress.total ? Math.floor((progress.sent / progress.total) * 100) : 0;
    ring.setAttribute('aria-valuenow', String(percent));
    ring.dataset.percent = String(percent);
    circle.style.strokeDashoffset = String(100 - percent);
  };
  const off = on('upload-progress', (clientId) => {
    if (!ring.isConnected && ring.dataset.shown) return off();
    if (clientId === message.client_id) show();
  });
  requestAnimationFrame(() => (ring.dataset.shown = '1'));
  cancel.addEventListener('click', (event) => {
    event.stopPropagation();
    off();
    cancelAttachment(message);
  });
  show();
  return ring;
}

function photo(file, label = null) {
  const frame = h('button', { type: 'button', class: 'photo', 'aria-label': label ?? t('open_photo'), 'data-testid': 'photo' });
  const ownShape = !label;
  if (ownShape && file.width && file.height) frame.style.aspectRatio = `${file.width} / ${file.height}`;
  const preview = file.sealed ? previewUrl(file) : null;
  const blur = preview ? h('img', { alt: '', src: preview }) : file.blurhash ? blurhashCanvas(file.blurhash) : null;
  if (blur) {
    blur.className = 'photo-blur';
    blur.dataset.testid = 'photo-blur';
    frame.append(blur);
    frame.dataset.stage = 'blurhash';
  }
  const image = h('img', { class: 'photo-thumb', alt: file.name, 'data-testid': 'photo-thumb', decoding: 'async' });
  image.addEventListener('load', () => {
    if (ownShape) frame.style.aspectRatio = `${image.naturalWidth} / ${image.naturalHeight}`;
    frame.dataset.stage = 'thumbnail';
    blur?.remove();
  });
  frame.append(image);
  if (file.local) {
    image.src = URL.createObjectURL(file.blob);
  } else {
    const shown = file.sealed ? contentUrl(file) : objectUrl(file.thumbnail ?? `/api/files/${file.id}`);
    shown.then((url) => (image.src = url), (error) => file.sealed && couldNotOpen(frame, error));
    frame.photoFile = file; // the viewer walks the chat's photos through this
    frame.addEventListener('click', () => openViewer(file, chatPhotos(frame)));
  }
  return frame;
}

// A sealed video: its first frame (the envelope brings it) with its length, and a play button that
// opens the film on this device and plays it in the bubble.
function video(file) {
  const frame = h('button', { type: 'button', class: 'photo video', 'aria-label': t('play_video'), 'data-testid': 'video' });
  if (file.width && file.height) frame.style.aspectRatio = `${file.width} / ${file.height}`;
  const preview = file.local ? null : previewUrl(file);
  if (preview) frame.append(h('img', { class: 'photo-thumb', alt: '', src: preview, 'data-testid': 'video-poster' }));
  frame.append(h('span', { class: 'video-play', 'aria-hidden': 'true' }, mediaIcon('play')));
  if (file.duration_ms) frame.append(h('span', { class: 'video-length', 'data-testid': 'video-length' }, formatDuration(file.duration_ms)));
  if (file.local) return frame;
  frame.addEventListener('click', async () => {
    frame.disabled = true;
    frame.dataset.stage = 'opening';
    let url;
    try {
      url = await contentUrl(file);
    } catch (error) {
      frame.disabled = false;
      delete frame.dataset.stage;
      if (error?.name === 'DecryptError') couldNotOpen(frame, error);
      else toast(t('err_network'));
      return;
    }
    const player = h('video', { class: 'video-player', controls: true, playsinline: true, src: url, 'data-testid': 'video-player', 'aria-label': file.name });
    if (file.width && file.height) player.style.aspectRatio = `${file.width} / ${file.height}`;
    frame.replaceWith(player);
    player.play().catch(() => {}); // muted autoplay rules: the controls are there
  });
  return frame;
}

function fileCard(file) {
  const progress = h('span', { class: 'file-progress', 'aria-live': 'polite' });
  const download = h('button', { type: 'button', class: 'file-icon', 'aria-label': t('download_file', { name: file.name }), 'data-testid': 'file-download', disabled: file.local ? true : null }, mediaIcon(file.local ? 'file' : 'download'));
  download.addEventListener('click', async () => {
    download.disabled = true;
    try {
      await saveFile(file, (loaded, total) => (progress.textContent = total ? `${Math.floor((loaded / total) * 100).toLocaleString(locale())}٪` : formatSize(loaded)));
      progress.textContent = '';
    } catch (error) {
      toast(t(error?.name === 'DecryptError' ? 'e2ee_file_failed' : 'err_network'));
    } finally {
      download.disabled = false;
    }
  });
  return h(
    'div',
    { class: 'file-card' },
    download,
    h('span', { class: 'file-info' }, h('span', { class: 'file-name', dir: 'auto', 'data-testid': 'file-name' }, file.name), h('span', { class: 'file-size', 'data-testid': 'file-size' }, formatSize(file.size), ' ', progress)),
  );
}

// A sealed photo or file that did not check out: said so on it, nothing of it shown.
function couldNotOpen(element, error) {
  if (error?.name !== 'DecryptError') return; // a cut network: the preview stays, a later look tries again
  element.dataset.stage = 'failed';
  element.dataset.testid = 'file-undecryptable';
  element.title = t('e2ee_file_failed');
  element.setAttribute('aria-label', t('e2ee_file_failed'));
}

async function saveFile(file, onProgress) {
  const blob = await fileBlob(file, { onProgress, download: true });
  const link = h('a', { href: URL.createObjectURL(blob), download: file.name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

function voice(file) {
  const audio = new Audio();
  audio.preload = 'none';
  const durationMs = file.duration_ms ?? 0;
  const play = h('button', { type: 'button', class: 'voice-play', 'aria-label': t('play'), 'data-testid': 'voice-play' }, mediaIcon('play'));
  const levels = file.waveform ?? Array.from({ length: 48 }, () => 30);
  const bars = levels.map((level) => {
    const bar = h('span', { class: 'voice-bar' });
    bar.style.blockSize = `${Math.max(10, level)}%`;
    return bar;
  });
  const wave = h('div', { class: 'voice-wave', dir: 'ltr', role: 'slider', tabindex: '0', 'aria-label': t('seek'), 'aria-valuemin': '0', 'aria-valuemax': String(Math.round(durationMs / 1000)), 'aria-valuenow': '0', 'data-testid': 'voice-wave' }, bars);
  const time = h('span', { class: 'voice-time', 'data-testid': 'voice-time' }, formatDuration(durationMs));
  const speed = h('button', { type: 'button', class: 'voice-speed', 'aria-label': t('speed'), 'data-testid': 'voice-speed' }, '1×');
  let source = null;
  const ensureSource = () => {
    source ??= (file.local ? Promise.resolve(URL.createObjectURL(file.blob)) : contentUrl(file)).then((url) => {
      audio.src = url;
    });
    return source;
  };
  const totalSeconds = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : durationMs / 1000);
  const showPosition = () => {
    const fraction = totalSeconds() ? audio.currentTime / totalSeconds() : 0;
    const played = Math.round(fraction * bars.length);
    bars.forEach((bar, index) => bar.classList.toggle('played', index < played));
    wave.setAttribute('aria-valuenow', String(Math.round(audio.currentTime)));
    time.textContent = formatDuration((audio.paused && !audio.currentTime ? totalSeconds() : audio.currentTime) * 1000);
  };
  play.addEventListener('click', async () => {
    try {
      await ensureSource();
    } catch (error) {
      source = null;
      return toast(t(error?.name === 'DecryptError' ? 'e2ee_file_failed' : 'err_network'));
    }
    if (audio.paused) await audio.play().catch(() => toast(t('err_generic')));
    else audio.pause();
  });
  audio.addEventListener('play', () => (play.replaceChildren(mediaIcon('pause')), play.setAttribute('aria-label', t('pause')), (play.dataset.state = 'playing')));
  audio.addEventListener('pause', () => (play.replaceChildren(mediaIcon('play')), play.setAttribute('aria-label', t('play')), (play.dataset.state = 'paused')));
  audio.addEventListener('timeupdate', showPosition);
  audio.addEventListener('ended', () => {
    audio.currentTime = 0;
    showPosition();
  });
  const seekTo = async (fraction) => {
    if (!(await ensureSource().then(() => true, () => ((source = null), false)))) return;
    audio.currentTime = Math.max(0, Math.min(1, fraction)) * totalSeconds();
    showPosition();
  };
  wave.addEventListener('click', (event) => {
    const box = wave.getBoundingClientRect();
    seekTo((event.clientX - box.left) / box.width);
  });
  wave.addEventListener('keydown', (event) => {
    const step = { ArrowRight: 5, ArrowLeft: -5 }[event.key];
    if (!step) return;
    event.preventDefault();
    seekTo((audio.currentTime + step) / (totalSeconds() || 1));
  });
  speed.addEventListener('click', () => {
    const next = SPEEDS[(SPEEDS.indexOf(audio.playbackRate) + 1) % SPEEDS.length];
    audio.playbackRate = next;
    speed.textContent = `${next.toLocaleString(locale())}×`;
  });
  return h('div', { class: 'voice' }, play, h('div', { class: 'voice-body' }, wave, h('div', { class: 'voice-meta' }, time, speed)));
}

// ---- the photo viewer --------------------------------------------------------------------------

function chatPhotos(frame) {
  const log = frame.closest('[data-testid=messages]') ?? document;
  return [...log.querySelectorAll('.photo')].map((element) => element.photoFile).filter(Boolean);
}

const SWIPE_PX = 50;

// Full size over everything: click to zoom, arrows or a swipe for the chat's other photos,
// download, Escape or the close button to leave.
export function openViewer(file, photos = [file]) {
  let index = Math.max(0, photos.findIndex((photo) => photo.id === file.id));
  const image = h('img', { class: 'viewer-image', alt: '', 'data-testid': 'viewer-image' });
  const status = h('p', { class: 'viewer-status', 'aria-live': 'polite' });
  const close = h('button', { type: 'button', class: 'viewer-button', 'aria-label': t('close'), 'data-testid': 'viewer-close' }, mediaIcon('close'));
  const download = h('button', { type: 'button', class: 'viewer-button', 'aria-label': t('download') }, mediaIcon('download'));
  const previous = h('button', { type: 'button', class: 'viewer-button viewer-previous', 'aria-label': t('previous_photo'), 'data-testid': 'viewer-previous' }, '‹');
  const next = h('button', { type: 'button', class: 'viewer-button viewer-next', 'aria-label': t('next_photo'), 'data-testid': 'viewer-next' }, '›');
  const viewer = h('div', { class: 'viewer', role: 'dialog', 'aria-modal': 'true', 'data-testid': 'viewer' }, h('div', { class: 'viewer-bar' }, download, close), previous, image, next, status);
  const before = document.activeElement;
  let loading = null;

  function show(at) {
    index = (at + photos.length) % photos.length;
    const shown = photos[index];
    loading?.abort();
    loading = new AbortController();
    viewer.setAttribute('aria-label', shown.name);
    viewer.dataset.stage = 'loading';
    viewer.dataset.index = String(index);
    image.classList.remove('zoomed');
    image.alt = shown.name;
    previous.hidden = next.hidden = photos.length < 2;
    status.textContent = t('loading');
    const progress = (loaded, total) => total && (status.textContent = `${Math.floor((loaded / total) * 100).toLocaleString(locale())}٪`);
    let full;
    if (shown.sealed) {
      // the photo in the bubble is already the whole, opened file
      const preview = previewUrl(shown);
      if (preview) image.src = preview;
      full = contentUrl(shown);
    } else {
      objectUrl(shown.thumbnail ?? `/api/files/${shown.id}`).then((url) => viewer.dataset.stage === 'loading' && (image.src = url), () => {});
      full = fetchBlob(`/api/files/${shown.id}`, progress, loading.signal).then((blob) => URL.createObjectURL(blob));
    }
    full.then(
      (url) => {
        if (photos[index] !== shown) return;
        image.src = url;
        viewer.dataset.stage = 'full';
        status.textContent = '';
      },
      (error) => error.name !== 'AbortError' && (status.textContent = t(error.name === 'DecryptError' ? 'e2ee_file_failed' : 'err_network')),
    );
  }

  const shut = () => {
    loading?.abort();
    viewer.remove();
    document.removeEventListener('keydown', keys);
    before?.focus?.();
  };
  // In a right-to-left page the next photo is to the left.
  const forward = (step) => show(index + (document.dir === 'rtl' ? -step : step));
  const keys = (event) => {
    if (event.key === 'Escape') shut();
    else if (event.key === 'ArrowRight') forward(1);
    else if (event.key === 'ArrowLeft') forward(-1);
  };
  close.addEventListener('click', shut);
  download.addEventListener('click', () => saveFile(photos[index]).catch(() => toast(t('err_network'))));
  previous.addEventListener('click', () => show(index - 1));
  next.addEventListener('click', () => show(index + 1));
  let swipeFrom = null;
  let swiped = false; // a swipe ends in a click, which must not zoom or close
  image.addEventListener('click', () => (swiped ? (swiped = false) : image.classList.toggle('zoomed')));
  viewer.addEventListener('click', (event) => (swiped ? (swiped = false) : event.target === viewer && shut()));
  viewer.addEventListener('pointerdown', (event) => (swipeFrom = event.clientX));
  viewer.addEventListener('pointerup', (event) => {
    const moved = swipeFrom == null ? 0 : event.clientX - swipeFrom;
    swipeFrom = null;
    swiped = Math.abs(moved) > SWIPE_PX && !image.classList.contains('zoomed');
    if (swiped) forward(moved < 0 ? 1 : -1);
  });
  document.addEventListener('keydown', keys);
  document.body.append(viewer);
  close.focus();
  show(index);
}

// ---- the composer's controls -------------------------------------------------------------------

// Attach button (with a hidden file picker), paste, drag-and-drop, and the voice recorder.
// `onFiles(files)` gets chosen, pasted or dropped files; `onVoice(blob, name)` a finished recording.
export function mediaControls({ input, onFiles, onVoice }) {
  const picker = h('input', { type: 'file', multiple: true, hidden: true, 'data-testid': 'file-picker' });
  const attach = h('button', { type: 'button', class: 'icon-button attach-button', 'aria-label': t('attach'), 'data-testid': 'attach-button' }, mediaIcon('attach'));
  attach.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    const files = [...picker.files];
    picker.value = '';
    if (files.length) onFiles(files);
  });
  input.addEventListener('paste', (event) => {
    const files = [...(event.clipboardData?.files ?? [])];
    if (!files.length) return;
    event.preventDefault();
    onFiles(files);
  });
  const recorder = voiceRecorder(onVoice);
  return {
    attach,
    picker,
    mic: recorder.button,
    recorderBar: recorder.bar,
    acceptDrops(area) {
      area.addEventListener('dragover', (event) => {
        if (![...(event.dataTransfer?.types ?? [])].includes('Files')) return;
        event.preventDefault();
        area.classList.add('dropping');
      });
      area.addEventListener('dragleave', (event) => event.target === area && area.classList.remove('dropping'));
      area.addEventListener('drop', (event) => {
        area.classList.remove('dropping');
        const files = [...(event.dataTransfer?.files ?? [])];
        if (!files.length) return;
        event.preventDefault();
        onFiles(files);
      });
    },
  };
}

function recordingType() {
  if (typeof MediaRecorder === 'undefined') return null;
  return ['audio/ogg;codecs=opus', 'audio/webm;codecs=opus', 'audio/webm'].find((type) => MediaRecorder.isTypeSupported(type)) ?? '';
}

// Tap the microphone to start, tap stop to send, or cancel; a timer runs meanwhile.
function voiceRecorder(onVoice) {
  const button = h('button', { type: 'button', class: 'icon-button mic-button', 'aria-label': t('record_voice'), 'data-testid': 'record-button' }, mediaIcon('mic'));
  const timer = h('span', { class: 'record-timer', 'data-testid': 'record-timer', 'aria-live': 'off' }, formatDuration(0));
  const cancel = h('button', { type: 'button', class: 'secondary-button record-cancel', 'data-testid': 'record-cancel' }, t('cancel'));
  const stop = h('button', { type: 'button', class: 'send-button record-stop', 'aria-label': t('send_voice'), 'data-testid': 'record-stop' }, mediaIcon('stop'));
  const bar = h('div', { class: 'recorder', hidden: true, role: 'group', 'aria-label': t('recording'), 'data-testid': 'recorder' }, h('span', { class: 'record-dot', 'aria-hidden': 'true' }), timer, cancel, stop);
  let session = null;

  async function start() {
    const type = recordingType();
    if (type == null || !navigator.mediaDevices?.getUserMedia) return toast(t('err_no_recording'));
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      return toast(t('err_no_microphone'));
    }
    const recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
    const chunks = [];
    const startedAt = Date.now();
    session = { recorder, stream, cancelled: false };
    recorder.addEventListener('dataavailable', (event) => event.data.size && chunks.push(event.data));
    recorder.addEventListener('stop', () => {
      stream.getTracks().forEach((track) => track.stop());
      clearInterval(tick);
      bar.hidden = true;
      button.hidden = false;
      const cancelled = session?.cancelled;
      session = null;
      if (cancelled || Date.now() - startedAt < 500) return;
      const mime = (recorder.mimeType || type || 'audio/webm').split(';')[0];
      onVoice(new Blob(chunks, { type: mime }), `voice-${new Date().toISOString().replace(/[:.]/g, '-')}.${mime === 'audio/ogg' ? 'ogg' : 'webm'}`);
    });
    recorder.start(250);
    const tick = setInterval(() => (timer.textContent = formatDuration(Date.now() - startedAt)), 250);
    timer.textContent = formatDuration(0);
    bar.hidden = false;
    button.hidden = true;
    stop.focus();
  }

  button.addEventListener('click', start);
  stop.addEventListener('click', () => session?.recorder.stop());
  cancel.addEventListener('click', () => {
    if (!session) return;
    session.cancelled = true;
    session.recorder.stop();
  });
  return { button, bar };
}

// ---- profile photo -----------------------------------------------------------------------------

// The photo cut to a centred square (at most 1024 px) as JPEG, before it is uploaded.
async function squareJpeg(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const side = Math.min(bitmap.width, bitmap.height);
  const size = Math.min(side, MAX_AVATAR_SIDE);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  canvas.getContext('2d').drawImage(bitmap, (bitmap.width - side) / 2, (bitmap.height - side) / 2, side, side, 0, 0, size, size);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.9));
}

// A button that picks a photo, crops it square, uploads it and makes it the profile photo.
export function avatarPicker(onChanged) {
  const picker = h('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp,image/gif', hidden: true, 'data-testid': 'avatar-picker' });
  const button = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'avatar-change' }, mediaIcon('camera'), ' ', t('change_photo'));
  const remove = h('button', { type: 'button', class: 'secondary-button', 'data-testid': 'avatar-remove' }, t('remove_photo'));
  button.addEventListener('click', () => picker.click());
  picker.addEventListener('change', async () => {
    const chosen = picker.files[0];
    picker.value = '';
    if (!chosen) return;
    button.disabled = true;
    try {
      const square = await squareJpeg(chosen);
      const fileId = await uploadBlob({ blob: square, name: 'avatar.jpg' });
      const { avatar } = await request('PUT', '/api/me/avatar', { file_id: fileId });
      updateSessionUser({ avatar });
      onChanged(avatar);
    } catch (error) {
      toast(error.message || t('err_generic'));
    } finally {
      button.disabled = false;
    }
  });
  remove.addEventListener('click', async () => {
    await request('DELETE', '/api/me/avatar').catch(() => toast(t('err_network')));
    updateSessionUser({ avatar: null });
    onChanged(null);
  });
  return h('div', { class: 'avatar-actions' }, button, remove, picker);
}
