/**
 * What other modules may use of the accounts module besides its services: the hashing of keys,
 * for keys of their own kind (project tokens) stored the way API keys are, and the names of the
 * dashboard's session cookie and of its CSRF header.
 */
export { CSRF_HEADER, hashApiKey, hashMatches, SESSION_COOKIE } from './api-key-secret.js';
