// One dictionary per language; `t` looks a key up in the current one.
import fa from '/i18n/fa.js';
import en from '/i18n/en.js';

const dictionaries = { fa, en };
const STORAGE_KEY = 'payambar.lang';
let current = 'fa';
const listeners = new Set();

export function language() {
  return current;
}

export function locale() {
  return current === 'fa' ? 'fa-IR' : 'en-US';
}

export function t(key, params = {}) {
  const text = dictionaries[current][key] ?? dictionaries.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => formatParam(params[name]));
}

function formatParam(value) {
  if (typeof value === 'number') return value.toLocaleString(locale());
  return value ?? '';
}

export function setLanguage(lang) {
  current = dictionaries[lang] ? lang : 'fa';
  localStorage.setItem(STORAGE_KEY, current);
  document.documentElement.lang = current;
  document.documentElement.dir = current === 'fa' ? 'rtl' : 'ltr';
  document.title = t('app_name');
  for (const listener of listeners) listener(current);
}

export function toggleLanguage() {
  setLanguage(current === 'fa' ? 'en' : 'fa');
}

export function onLanguageChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function initLanguage() {
  setLanguage(localStorage.getItem(STORAGE_KEY) || 'fa');
}
