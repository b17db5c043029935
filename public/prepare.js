// What the sending device does to a file before it seals it (docs/e2ee.md §7.6, "The sender's
// work"). The server never opens a sealed file, so what it does for a plaintext photo happens here:
// a photo is decoded and saved again (no EXIF, XMP, GPS, camera serial or comment survives; upright
// by its orientation; an MPO's extra frames gone), an animated one keeps its frames and loses its
// metadata chunks, and its size and a small thumbnail are measured; a voice note's length and
// waveform are read from its decoded sound; a video's metadata boxes (where a phone writes the
// place it was filmed) are blanked and its first frame, size and length measured. All of it
// travels inside the envelope.
import { b64, concat } from '/crypto/bytes.js';

const LONG_SIDE = 2560; // a photo is sent at most this wide or high (as the app shows it)
const STILL_TYPES = new Map([['image/jpeg', 'image/jpeg'], ['image/png', 'image/png'], ['image/webp', 'image/webp']]);
const THUMBNAIL_BYTES = 4096; // docs/e2ee.md §7.6: a thumbnail's data is at most this
const THUMBNAIL_TRIES = [[96, 0.7], [72, 0.6], [48, 0.5]]; // long side, JPEG quality
const WAVEFORM_LEVELS = 64;
const VOICE_TYPES = new Set(['audio/ogg', 'audio/webm', 'audio/mp4', 'audio/mpeg']);
const MP4_TYPES = new Set(['video/mp4', 'video/quicktime', 'video/3gpp', 'audio/x-m4a']);
const VIDEO_WAIT_MS = 8_000;

// {blob, mime, details} to seal in place of the file as chosen; details are the inner message's
// attachment fields (type, width, height, thumbnail, duration_ms, waveform).
// `asFile`: a photo sent as a file keeps its full size (saved again at high quality, so its
// metadata still goes) and is shown as a file to download.
export async function prepareFile(blob, mime, { asFile = false } = {}) {
  const kind = (mime ?? '').toLowerCase();
  if (kind.startsWith('image/')) {
    const photo = await preparePhoto(blob, kind, asFile).catch(() => null);
    if (photo) return asFile ? { ...photo, details: { ...photo.details, type: 'file' } } : photo;
  } else if (VOICE_TYPES.has(kind)) {
    const voice = await voiceDetails(blob).catch(() => null);
    if (voice) return { blob, mime: kind, details: { type: 'voice', ...voice } };
  } else if (kind.startsWith('video/') || MP4_TYPES.has(kind)) {
    const cleaned = await videoWithoutMetadata(blob);
    const video = asFile ? null : await videoDetails(cleaned).catch(() => null);
    return { blob: cleaned, mime: kind, details: video ? { type: 'video', ...video } : { type: 'file' } };
  }
  return { blob, mime: kind || 'application/octet-stream', details: { type: 'file' } };
}

async function preparePhoto(blob, mime, fullSize = false) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const animated = isAnimated(bytes, mime);
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  try {
    const details = { type: 'photo', width: bitmap.width, height: bitmap.height, thumbnail: await thumbnail(bitmap) };
    if (animated) {
      // Saving again would keep one frame: the frames stay as sent, the metadata around them goes.
      const cleaned = withoutMetadata(bytes, mime);
      if (!cleaned) return null;
      return { blob: new Blob([cleaned], { type: mime }), mime, details };
    }
    const as = STILL_TYPES.get(mime) ?? 'image/jpeg';
    const scale = fullSize ? 1 : Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const saved = await encode(bitmap, width, height, as, fullSize ? 0.95 : 0.9);
    return { blob: saved, mime: saved.type || as, details: { ...details, width, height } };
  } finally {
    bitmap.close();
  }
}

function encode(bitmap, width, height, mime, quality) {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  if (mime === 'image/jpeg') {
    context.fillStyle = '#fff'; // a transparent image saved as JPEG: white, not black, behind it
    context.fillRect(0, 0, width, height);
  }
  context.drawImage(bitmap, 0, 0, width, height);
  return canvas.convertToBlob({ type: mime, quality });
}

// A small JPEG shown at once (the envelope brings it) until the photo itself has opened.
async function thumbnail(bitmap) {
  for (const [side, quality] of THUMBNAIL_TRIES) {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const data = new Uint8Array(await (await encode(bitmap, width, height, 'image/jpeg', quality)).arrayBuffer());
    if (data.length <= THUMBNAIL_BYTES) return { mime: 'image/jpeg', width, height, data: b64(data) };
  }
  return undefined;
}

// ---- animated images: their frames kept, their metadata chunks dropped ---------------------------

function isAnimated(bytes, mime) {
  if (mime === 'image/gif') return true;
  if (mime === 'image/png') return pngChunks(bytes)?.some((chunk) => chunk.type === 'acTL') ?? false;
  if (mime === 'image/webp') return webpChunks(bytes)?.some((chunk) => chunk.type === 'ANIM') ?? false;
  return false;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_METADATA = new Set(['eXIf', 'tEXt', 'zTXt', 'iTXt', 'tIME']);
const ascii = (bytes, start, length) => String.fromCharCode(...bytes.subarray(start, start + length));

// [{type, start, end}] of a PNG's chunks (each from its length to its CRC), or null when it is not one.
function pngChunks(bytes) {
  if (bytes.length < 8 || PNG_SIGNATURE.some((value, index) => bytes[index] !== value)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks = [];
  for (let at = 8; at < bytes.length; ) {
    if (at + 12 > bytes.length) return null;
    const end = at + 12 + view.getUint32(at);
    if (end > bytes.length) return null;
    chunks.push({ type: ascii(bytes, at + 4, 4), start: at, end });
    at = end;
  }
  return chunks;
}

// [{type, start, end}] of a WebP's chunks after its 12-byte RIFF header, or null when it is not one.
function webpChunks(bytes) {
  if (bytes.length < 12 || ascii(bytes, 0, 4) !== 'RIFF' || ascii(bytes, 8, 4) !== 'WEBP') return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const chunks = [];
  for (let at = 12; at < bytes.length; ) {
    if (at + 8 > bytes.length) return null;
    const size = view.getUint32(at + 4, true);
    const end = at + 8 + size + (size % 2);
    if (end > bytes.length) return null;
    chunks.push({ type: ascii(bytes, at, 4), start: at, end });
    at = end;
  }
  return chunks;
}

function withoutMetadata(bytes, mime) {
  if (mime === 'image/png') {
    const chunks = pngChunks(bytes);
    if (!chunks) return null;
    return concat(bytes.subarray(0, 8), ...chunks.filter((chunk) => !PNG_METADATA.has(chunk.type)).map((chunk) => bytes.subarray(chunk.start, chunk.end)));
  }
  if (mime === 'image/webp') {
    const chunks = webpChunks(bytes);
    if (!chunks) return null;
    const kept = chunks.filter((chunk) => chunk.type !== 'EXIF' && chunk.type !== 'XMP ').map((chunk) => bytes.slice(chunk.start, chunk.end));
    for (const chunk of kept) if (ascii(chunk, 0, 4) === 'VP8X') chunk[8] &= ~0x0c; // no EXIF (0x08), no XMP (0x04)
    const body = concat(...kept);
    const header = new Uint8Array(12);
    header.set(bytes.subarray(0, 12));
    new DataView(header.buffer).setUint32(4, body.length + 4, true);
    return concat(header, body);
  }
  if (mime === 'image/gif') return gifWithoutMetadata(bytes);
  return null;
}

// A GIF without its comment blocks and application blocks other than the looping ones (XMP and
// the like travel in those); the frames as they were.
function gifWithoutMetadata(bytes) {
  if (bytes.length < 13 || !ascii(bytes, 0, 6).startsWith('GIF8')) return null;
  const flags = bytes[10];
  let at = 13 + (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
  const parts = [bytes.subarray(0, at)];
  const subBlocks = (from) => {
    let position = from;
    while (position < bytes.length && bytes[position] !== 0) position += bytes[position] + 1;
    if (position >= bytes.length) throw new Error('cut short');
    return position + 1;
  };
  try {
    while (at < bytes.length) {
      const introducer = bytes[at];
      if (introducer === 0x3b) {
        parts.push(bytes.subarray(at, at + 1));
        return concat(...parts);
      }
      if (introducer === 0x21) {
        const label = bytes[at + 1];
        const end = subBlocks(at + 2);
        const application = label === 0xff ? ascii(bytes, at + 3, 11) : '';
        const keep = label === 0xf9 || label === 0x01 || application === 'NETSCAPE2.0' || application === 'ANIMEXTS1.0';
        if (keep) parts.push(bytes.subarray(at, end));
        at = end;
      } else if (introducer === 0x2c) {
        const local = bytes[at + 9];
        const start = at + 10 + (local & 0x80 ? 3 * 2 ** ((local & 0x07) + 1) : 0) + 1; // + LZW minimum code size
        const end = subBlocks(start);
        parts.push(bytes.subarray(at, end));
        at = end;
      } else {
        return null;
      }
    }
  } catch {
    return null;
  }
  return null;
}


// ---- voice notes ---------------------------------------------------------------------------------

// {duration_ms, waveform}: the length and 64 levels 0-100 (each slice's peak, scaled to the loudest).
async function voiceDetails(blob) {
  const context = new OfflineAudioContext(1, 1, 48_000);
  const sound = await context.decodeAudioData(await blob.arrayBuffer());
  const samples = sound.getChannelData(0);
  const slice = Math.max(1, Math.floor(samples.length / WAVEFORM_LEVELS));
  const peaks = [];
  for (let level = 0; level < WAVEFORM_LEVELS; level += 1) {
    let peak = 0;
    for (let index = level * slice; index < Math.min(samples.length, (level + 1) * slice); index += 1) peak = Math.max(peak, Math.abs(samples[index]));
    peaks.push(peak);
  }
  const loudest = Math.max(...peaks) || 1;
  return { duration_ms: Math.round(sound.duration * 1000), waveform: peaks.map((peak) => Math.round((peak / loudest) * 100)) };
}

// ---- videos: metadata blanked, the first frame, size and length measured -------------------------

// Boxes of an MP4 / QuickTime file that hold metadata rather than the film: `udta` (©xyz, the place,
// the camera), `meta` (Apple's com.apple.quicktime.location.ISO6709, XMP) and `uuid` (XMP) at the
// top, in `moov` and in each `trak`. Each becomes a `free` box of the same size, zeroed: nothing
// moves, so the offsets into `mdat` stay right and the film plays as before.
const MP4_METADATA = new Set(['udta', 'meta', 'uuid']);
const MP4_CONTAINERS = new Set(['moov', 'trak']);

export function mp4WithoutMetadata(bytes) {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const walk = (start, end, depth) => {
    let at = start;
    while (at + 8 <= end) {
      let size = view.getUint32(at);
      let header = 8;
      if (size === 1) {
        if (at + 16 > end) return;
        size = Number(view.getBigUint64(at + 8));
        header = 16;
      } else if (size === 0) size = end - at; // to the end of the file
      if (size < header || at + size > end) return; // not a box: leave the rest as it is
      const type = ascii(out, at + 4, 4);
      if (MP4_METADATA.has(type)) {
        out.set([0x66, 0x72, 0x65, 0x65], at + 4); // 'free'
        out.fill(0, at + header, at + size);
      } else if (MP4_CONTAINERS.has(type) && depth < 2) walk(at + header, at + size, depth + 1);
      at += size;
    }
  };
  if (ascii(out, 4, 4) !== 'ftyp') return out; // not MP4 / QuickTime
  walk(0, out.length, 0);
  return out;
}

// A recorded WebM often says nothing of its length until it has been read to the end: a seek far
// past it makes the browser find out.
async function videoLength(video) {
  if (!Number.isFinite(video.duration)) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      video.onseeked = video.ondurationchange = () => Number.isFinite(video.duration) && (clearTimeout(timer), resolve());
      video.currentTime = 1e9;
    });
  }
  return Number.isFinite(video.duration) ? Math.round(video.duration * 1000) : 0;
}

async function videoWithoutMetadata(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  return new Blob([mp4WithoutMetadata(bytes)], { type: blob.type });
}

// {width, height, duration_ms, thumbnail} from the browser's own decoder; throws when it cannot
// play the film (it is then sent as a file).
async function videoDetails(blob) {
  const url = URL.createObjectURL(blob);
  const video = document.createElement('video');
  video.muted = true;
  video.preload = 'auto';
  video.playsInline = true;
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the video did not load')), VIDEO_WAIT_MS);
      video.onloadeddata = () => (clearTimeout(timer), resolve());
      video.onerror = () => (clearTimeout(timer), reject(new Error('the video cannot be played here')));
      video.src = url;
    });
    if (!video.videoWidth || !video.videoHeight) throw new Error('no picture');
    const bitmap = await createImageBitmap(video);
    let details;
    try {
      details = { width: video.videoWidth, height: video.videoHeight, thumbnail: await thumbnail(bitmap) };
    } finally {
      bitmap.close();
    }
    const duration = await videoLength(video);
    if (duration > 0) details.duration_ms = duration;
    return details;
  } finally {
    video.removeAttribute('src');
    video.load();
    URL.revokeObjectURL(url);
  }
}
