/**
 * What other modules and plug-ins may use of the providers module besides its services: the
 * provider decorator and the shapes a provider works with.
 */
export { Provider, PROVIDER_CAPABILITIES } from './provider.decorator.js';
export type {
  ConnectionProvider,
  ConnectionSchedule,
  OpenedCredentials,
  ProviderCapability,
  ProviderConnection,
  ProviderMetadata,
  OAuth2Settings,
  RateLimit,
  SyncReadContext,
  SyncRecord,
} from './provider.decorator.js';
export type { Connection, ConnectionState } from './connection.entity.js';
export { CREDENTIAL_TYPES } from './credentials.js';
export type { CredentialType } from './credentials.js';
export {
  assertFresh,
  hmac,
  readPayload,
  sameSignature,
  WebhookRefused,
  WebhookUnreadable,
} from './webhooks/webhook-verification.js';
export type {
  HmacAlgorithm,
  InboundWebhook,
  VerifiedWebhook,
  WebhookVerifyContext,
} from './webhooks/webhook-verification.js';
/** The partner HTTP client (the module exports it), for modules that call out, such as outbound webhooks. */
export { PartnerHttpClient } from './http/partner-http.client.js';
export type { PartnerRequest, PartnerResponse } from './http/partner-http.client.js';
export { ProviderError } from './http/provider-error.js';
export type { ProviderErrorCode } from './http/provider-error.js';
