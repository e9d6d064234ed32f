/**
 * What other modules may use of the accounts module besides its services: the hashing of keys,
 * for keys of their own kind (project tokens) stored the way API keys are.
 */
export { hashApiKey, hashMatches } from './api-key-secret.js';
