/**
 * Everything a plug-in needs, from one entry: `import { Module, Provider, JobHandler } from
 * 'junction/sdk'` (package.json `exports`). A plug-in exports a Nest module whose providers carry
 * these decorators; Junction imports it at boot (`JUNCTION_PLUGINS`, see the README's "Plug-ins").
 * What is not here (entities, stores, services) is not part of the plug-in API.
 */

// Nest's own decorators, so a plug-in needs no import of @nestjs/common and uses Junction's copy.
export { Inject, Injectable, Module, Optional } from '@nestjs/common';

// Jobs: the handler decorator (`on:` routes events to it), its context and failures, and the
// payload check that refuses a job, route or schedule naming something that does not exist.
export { EnqueuesJobs, JobFailure, JobHandler, JobPayloadCheck } from './modules/jobs/jobs.contract.js';
export type {
  BackoffPolicy,
  JobContext,
  JobHandlerOptions,
  JobPayloadProblem,
} from './modules/jobs/jobs.contract.js';

// Providers: the decorator, the shapes a provider works with, and the partner HTTP client.
export { CREDENTIAL_TYPES, PROVIDER_CAPABILITIES, Provider } from './modules/providers/providers.contract.js';
// Inbound webhook verifiers (`verifyWebhook`): their errors and the signature helpers.
export {
  assertFresh,
  hmac,
  readPayload,
  sameSignature,
  WebhookRefused,
  WebhookUnreadable,
} from './modules/providers/providers.contract.js';
export type {
  ConnectionProvider,
  ConnectionSchedule,
  HmacAlgorithm,
  InboundWebhook,
  VerifiedWebhook,
  WebhookVerifyContext,
  CredentialType,
  OpenedCredentials,
  ProviderCapability,
  ProviderConnection,
  ProviderMetadata,
  OAuth2Settings,
  StorageContext,
  StorageUsage,
  StoredFile,
  SyncReadContext,
  SyncRecord,
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
} from './modules/providers/providers.contract.js';
export { ProviderError } from './modules/providers/http/provider-error.js';
export type { ProviderErrorCode, ProviderErrorDetails } from './modules/providers/http/provider-error.js';
export { PartnerHttpClient } from './modules/providers/http/partner-http.client.js';
export type {
  HttpMethod,
  PartnerRequest,
  PartnerResponse,
  QueryValue,
} from './modules/providers/http/partner-http.client.js';

// Planning: the purpose planner decorator and what a planner receives.
export { PurposePlanner } from './modules/planner/purpose-planner.decorator.js';
export type { PurposePlannerOptions } from './modules/planner/purpose-planner.decorator.js';
export type { PlanningContext, ReservedGoods } from './modules/planner/planning-context.js';
export type { Purpose, PurposeCheck } from './modules/reservations/reservations.contract.js';
