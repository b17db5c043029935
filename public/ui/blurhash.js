// BlurHash decoding onto a small canvas (scaled up by CSS): the blurred preview of a photo,
// drawn from the file object alone before any byte of the photo arrives.
const BASE83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

function decode83(text) {
  let value = 0;
  for (const char of text) value = value * 83 + BASE83.indexOf(char);
  return value;
}

function toLinear(channel) {
  const value = channel / 255;
  return value <= 0.04045 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4;
}

function toSrgb(value) {
  const clamped = Math.max(0, Math.min(1, value));
  return Math.round(clamped <= 0.0031308 ? clamped * 12.92 * 255 : (1.055 * clamped ** (1 / 2.4) - 0.055) * 255);
}

const signedPow = (value, exponent) => Math.sign(value) * Math.abs(value) ** exponent;

export function isBlurhash(text) {
  if (typeof text !== 'string' || text.length < 6) return false;
  const size = decode83(text[0]);
  return text.length === 4 + 2 * ((size % 9) + 1) * (Math.floor(size / 9) + 1);
}

// A canvas of width x height pixels showing the hash, or null for a malformed one.
export function blurhashCanvas(hash, width = 32, height = 32) {
  if (!isBlurhash(hash)) return null;
  const size = decode83(hash[0]);
  const xCount = (size % 9) + 1;
  const yCount = Math.floor(size / 9) + 1;
  const maximum = (decode83(hash[1]) + 1) / 166;
  const colours = [];
  const dc = decode83(hash.slice(2, 6));
  colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let index = 1; index < xCount * yCount; index++) {
    const value = decode83(hash.slice(4 + index * 2, 6 + index * 2));
    const channel = (quantised) => signedPow((quantised - 9) / 9, 2) * maximum;
    colours.push([channel(Math.floor(value / 361)), channel(Math.floor(value / 19) % 19), channel(value % 19)]);
  }
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let [r, g, b] = [0, 0, 0];
      for (let j = 0; j < yCount; j++) {
        for (let i = 0; i < xCount; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const colour = colours[i + j * xCount];
          r += colour[0] * basis;
          g += colour[1] * basis;
          b += colour[2] * basis;
        }
      }
      const at = 4 * (x + y * width);
      image.data.set([toSrgb(r), toSrgb(g), toSrgb(b), 255], at);
    }
  }
  context.putImageData(image, 0, 0);
  return canvas;
}
