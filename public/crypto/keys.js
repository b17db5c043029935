// Signed device lists, bundles and one-time prekeys (docs/e2ee.md §3, §4): their exact signed
// bytes, their JSON, and their checks.
import { b64, compare, concat, equal, label, u32, u64, u8, unb64 } from './bytes.js';
import { MLKEM_PUBLIC_BYTES, ed25519Sign, ed25519Verify } from './primitives.js';

const DEVICE_LIST_LABEL = label('payambar/device-list/v1');
const BUNDLE_LABEL = label('payambar/device-bundle/v1');
const ONE_TIME_LABEL = label('payambar/one-time-prekey/v1');
export const DEVICE_ID_BYTES = 8;
export const MAX_DEVICES = 16;

export class BadKeys extends Error {
  constructor(message, field = 'signature') {
    super(message);
    this.field = field;
  }
}

export function deviceListBytes(userId, identityKey, version, timestamp, devices) {
  const parts = [DEVICE_LIST_LABEL, identityKey, u64(userId), u64(version), u64(timestamp), u8(devices.length)];
  for (const device of devices) parts.push(device.deviceId, device.deviceKey);
  return concat(...parts);
}

export function sortDevices(devices) {
  return [...devices].sort((a, b) => compare(a.deviceId, b.deviceId));
}

// devices: [{deviceId, deviceKey}]; the list as JSON, ready for PUT /api/keys/device-list.
export function signDeviceList(identitySeed, identityKey, userId, version, timestamp, devices) {
  const sorted = sortDevices(devices);
  const signature = ed25519Sign(identitySeed, deviceListBytes(userId, identityKey, version, timestamp, sorted));
  return {
    user_id: userId,
    identity_key: b64(identityKey),
    version,
    timestamp,
    devices: sorted.map((d) => ({ device_id: b64(d.deviceId), device_key: b64(d.deviceKey) })),
    signature: b64(signature),
  };
}

function key(value, length, name) {
  let data;
  try {
    data = unb64(value);
  } catch {
    throw new BadKeys(`${name} is not base64url`, name);
  }
  if (data.length !== length) throw new BadKeys(`${name} is ${length} bytes`, name);
  return data;
}

function uint(value, bits, name, low = 0) {
  if (!Number.isSafeInteger(value) || value < low || BigInt(value) >= 2n ** BigInt(bits)) {
    throw new BadKeys(`${name} is an integer from ${low} to 2^${bits}-1`, name);
  }
  return value;
}

// A device list from its JSON, its signature checked against its own identity key.
export function parseDeviceList(body) {
  if (!body || typeof body !== 'object' || !Array.isArray(body.devices)) {
    throw new BadKeys('a device list is an object with a devices array', 'devices');
  }
  if (body.devices.length > MAX_DEVICES) throw new BadKeys('too many devices', 'devices');
  const devices = body.devices.map((entry) => {
    if (!entry || typeof entry !== 'object') throw new BadKeys('each device is an object', 'devices');
    return {
      deviceId: key(entry.device_id, DEVICE_ID_BYTES, 'device_id'),
      deviceKey: key(entry.device_key, 32, 'device_key'),
    };
  });
  for (let i = 1; i < devices.length; i += 1) {
    if (compare(devices[i - 1].deviceId, devices[i].deviceId) >= 0) {
      throw new BadKeys('devices are sorted by device_id, each once', 'devices');
    }
  }
  const list = {
    userId: uint(body.user_id, 63, 'user_id', 1),
    identityKey: key(body.identity_key, 32, 'identity_key'),
    version: uint(body.version, 63, 'version', 1),
    timestamp: uint(body.timestamp, 63, 'timestamp'),
    devices,
    signature: key(body.signature, 64, 'signature'),
  };
  const signed = deviceListBytes(list.userId, list.identityKey, list.version, list.timestamp, devices);
  if (!ed25519Verify(list.identityKey, list.signature, signed)) {
    throw new BadKeys("the device list's signature does not verify");
  }
  return list;
}

export function listedDeviceKey(list, deviceId) {
  return list.devices.find((device) => equal(device.deviceId, deviceId))?.deviceKey || null;
}

export function bundleBytes(userId, b) {
  return concat(
    BUNDLE_LABEL,
    u64(userId),
    b.deviceId,
    b.identityDh,
    u32(b.signedPrekeyId),
    b.signedPrekey,
    u32(b.pqPrekeyId),
    b.pqPrekey,
  );
}

export function bundleJson(b) {
  return {
    device_id: b64(b.deviceId),
    identity_dh: b64(b.identityDh),
    signed_prekey: { id: b.signedPrekeyId, key: b64(b.signedPrekey) },
    pq_prekey: { id: b.pqPrekeyId, key: b64(b.pqPrekey) },
    signature: b64(b.signature),
  };
}

// b: {deviceId, identityDh, signedPrekeyId, signedPrekey, pqPrekeyId, pqPrekey}
export function signBundle(deviceSeed, userId, b) {
  return { ...b, signature: ed25519Sign(deviceSeed, bundleBytes(userId, b)) };
}

// A bundle from its JSON, its signature checked against the device key its person's list names.
export function parseBundle(body, userId, deviceKey) {
  if (!body || typeof body !== 'object') throw new BadKeys('a bundle is an object', 'device_id');
  const spk = body.signed_prekey;
  const pq = body.pq_prekey;
  if (!spk || typeof spk !== 'object' || !pq || typeof pq !== 'object') {
    throw new BadKeys('signed_prekey and pq_prekey are objects', 'signed_prekey');
  }
  const bundle = {
    deviceId: key(body.device_id, DEVICE_ID_BYTES, 'device_id'),
    identityDh: key(body.identity_dh, 32, 'identity_dh'),
    signedPrekeyId: uint(spk.id, 32, 'signed_prekey.id', 1),
    signedPrekey: key(spk.key, 32, 'signed_prekey.key'),
    pqPrekeyId: uint(pq.id, 32, 'pq_prekey.id', 1),
    pqPrekey: key(pq.key, MLKEM_PUBLIC_BYTES, 'pq_prekey.key'),
    signature: key(body.signature, 64, 'signature'),
  };
  if (!ed25519Verify(deviceKey, bundle.signature, bundleBytes(userId, bundle))) {
    throw new BadKeys("the bundle's signature does not verify");
  }
  return bundle;
}

export function oneTimeBytes(userId, deviceId, keyId, publicKey) {
  return concat(ONE_TIME_LABEL, u64(userId), deviceId, u32(keyId), publicKey);
}

export function signOneTime(deviceSeed, userId, deviceId, keyId, publicKey) {
  const signature = ed25519Sign(deviceSeed, oneTimeBytes(userId, deviceId, keyId, publicKey));
  return { id: keyId, key: b64(publicKey), signature: b64(signature) };
}

// {id, key} of a one-time prekey whose signature the device key checks.
export function parseOneTime(body, userId, deviceId, deviceKey) {
  if (!body || typeof body !== 'object') throw new BadKeys('a one-time prekey is an object', 'prekeys');
  const id = uint(body.id, 32, 'id', 1);
  const publicKey = key(body.key, 32, 'key');
  const signature = key(body.signature, 64, 'signature');
  if (!ed25519Verify(deviceKey, signature, oneTimeBytes(userId, deviceId, id, publicKey))) {
    throw new BadKeys("the one-time prekey's signature does not verify");
  }
  return { id, key: publicKey };
}
