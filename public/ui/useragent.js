// A session's device in words ("Chrome on Linux") from the User-Agent it logged in with. Other
// clients (scripts, the command-line client) keep their own name, cut short.
import { t } from '/i18n.js';

// Order matters: Edge, Opera and Samsung Internet also say "Chrome", and Chrome says "Safari".
const BROWSERS = [
  [/\bEdg(e|A|iOS)?\//, 'Edge'],
  [/\b(OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bYaBrowser\//, 'Yandex Browser'],
  [/\b(Firefox|FxiOS)\//, 'Firefox'],
  [/\b(HeadlessChrome|Chrome|CriOS|Chromium)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
];

const SYSTEMS = [
  [/\bAndroid\b/, 'Android'],
  [/\b(iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b|\bX11\b/, 'Linux'],
];

const first = (table, text) => table.find(([pattern]) => pattern.test(text))?.[1] ?? null;

// {browser, system} as far as the string tells; null parts are unknown.
export function parseUserAgent(userAgent = '') {
  return { browser: first(BROWSERS, userAgent), system: first(SYSTEMS, userAgent) };
}

export function deviceName(userAgent) {
  if (!userAgent) return t('unknown_device');
  const { browser, system } = parseUserAgent(userAgent);
  if (browser && system) return t('device_on', { browser, system });
  if (browser || system) return browser || system;
  const name = userAgent.split(/[\s(]/)[0];
  return name.length > 40 ? `${name.slice(0, 40)}…` : name;
}
