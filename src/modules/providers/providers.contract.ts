/**
 * What other modules and plug-ins may use of the providers module besides its services: the
 * provider decorator and the shapes a provider works with.
 */
export { isStorageProvider, Provider, PROVIDER_CAPABILITIES } from './provider.decorator.js';
export type {
  ConnectionProvider,
  ConnectionSchedule,
  OpenedCredentials,
  ProviderCapability,
  ProviderConnection,
  ProviderMetadata,
  OAuth2Settings,
  RateLimit,
  StorageContext,
  StorageProvider,
  StorageUsage,
  StoredFile,
  SyncReadContext,
  SyncRecord,
} from './provider.decorator.js';
export type { Connection, ConnectionSettings, ConnectionState } from './connection.entity.js';
export { dateRange, enabledTypes, rangeKey, syncCron, syncEveryProblem } from './connection-settings.js';
export { BUILD_STATUSES } from './project-provider.js';
export type {
  BuildStatus,
  ProjectBranch,
  ProjectBuild,
  ProjectBuildInput,
  ProjectContext,
  ProjectEvent,
  ProjectFeature,
  ProjectFeatureInput,
  ProjectRecordsPort,
  ProjectRepository,
  ProjectRouteSpec,
} from './project-provider.js';
export { SCHEDULED_SYNC_JOB_TYPE, syncScheduleName } from './connection-schedules.service.js';
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
/** Files kept through a storage connection (the module exports the service), such as a sync's copies. */
export { StorageService } from './storage/storage.service.js';
export type { StorageHandle } from './storage/storage.service.js';
/** The partner HTTP client (the module exports it), for modules that call out, such as outbound webhooks. */
export { PartnerHttpClient } from './http/partner-http.client.js';
export type { PartnerRequest, PartnerResponse } from './http/partner-http.client.js';
export { ProviderError } from './http/provider-error.js';
/** The rules every storage path follows (StorageService, in storage/storage.service.ts, applies them). */
export { storagePath, storagePathProblem } from './storage/storage-path.js';
export type { ProviderErrorCode } from './http/provider-error.js';
/** CDN and DNS drivers, for the provisioning module. */
export { isCdnDriver, isDnsDriver } from './provisioning-drivers.js';
export type {
  CdnCaching,
  CdnDeployment,
  CdnDomain,
  CdnDriver,
  CdnOrigin,
  CdnRestriction,
  CdnServiceSpec,
  CdnStatus,
  DnsDriver,
  DriverContext,
} from './provisioning-drivers.js';
