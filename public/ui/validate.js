// The server's account rules, checked before a request is made, and its errors in words.
import { language, t } from '/i18n.js';

const USERNAME = /^[A-Za-z0-9_]{3,32}$/;

export function usernameError(value) {
  return USERNAME.test(value) ? null : 'err_username';
}

export function passwordError(value) {
  const characters = [...value].length;
  return characters >= 8 && characters <= 72 ? null : 'err_password';
}

export function displayNameError(value) {
  return [...value].length <= 64 ? null : 'err_display_name';
}

export function bioError(value) {
  return [...value].length <= 280 ? null : 'err_bio';
}

// Server error codes with a message of their own in every language (the server's text is English).
const CODE_KEYS = {
  user_not_found: 'err_user_not_found',
  wrong_password: 'err_wrong_password',
  cannot_block_yourself: 'err_cannot_block_yourself',
  message_not_found: 'err_message_not_found',
  message_deleted: 'err_message_not_found',
  file_not_found: 'err_file_not_found',
  too_many_tokens: 'err_too_many_tokens',
  forbidden: 'err_forbidden',
  insufficient_scope: 'err_forbidden',
  session_required: 'err_forbidden',
};

// Maps an API error to the field it belongs to and the message key to show.
export function describeApiError(error) {
  if (error.isNetwork) return { field: null, key: 'err_network' };
  // A proxy's 502/503/504 (or any failure without the server's JSON) means the server is not there.
  if (error.status >= 500 && (error.status !== 500 || String(error.code).startsWith('http_'))) return { field: null, key: 'err_server_unavailable' };
  if (CODE_KEYS[error.code]) return { field: null, key: CODE_KEYS[error.code] };
  if (error.code === 'username_taken') return { field: 'username', key: 'err_username_taken' };
  if (error.code === 'invalid_credentials') return { field: null, key: 'err_invalid_credentials' };
  if (error.code === 'rate_limited') return { field: null, key: 'err_rate_limited', seconds: Number(error.retryAfter) || 60 };
  if (error.code === 'invalid_input' && error.field) {
    const key = { username: 'err_username', password: 'err_password', display_name: 'err_display_name', bio: 'err_bio' }[error.field];
    if (key) return { field: error.field, key };
  }
  // The server's own sentence is English: shown as it is in English only, never a bare code.
  const readable = language() === 'en' && error.message && error.message !== error.code;
  return { field: null, key: 'err_generic', text: readable ? error.message : undefined };
}

// The sentence to show for an API error.
export function apiErrorText(error) {
  const problem = describeApiError(error);
  return problem.text ?? t(problem.key, { seconds: problem.seconds });
}
