// The server's account rules, checked before a request is made.
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

// Maps an API error to the field it belongs to and the message key to show.
export function describeApiError(error) {
  if (error.isNetwork) return { field: null, key: 'err_network' };
  if (error.code === 'username_taken') return { field: 'username', key: 'err_username_taken' };
  if (error.code === 'invalid_credentials') return { field: null, key: 'err_invalid_credentials' };
  if (error.code === 'rate_limited') return { field: null, key: 'err_rate_limited', seconds: Number(error.retryAfter) || 60 };
  if (error.code === 'invalid_input' && error.field) {
    const key = { username: 'err_username', password: 'err_password', display_name: 'err_display_name', bio: 'err_bio' }[error.field];
    if (key) return { field: error.field, key };
  }
  return { field: null, key: 'err_generic', text: error.message };
}
