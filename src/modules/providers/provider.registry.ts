import { Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { ValidateFunction } from 'ajv';
import { newAjv, toViolation } from '../../common/json-schema.js';
import { withPluginOrigin } from '../../common/plugin-origin.js';
import type { SchemaViolation } from '../../common/json-schema.js';
import { MAX_RATE_WINDOW_MS, userinfoProblems } from './config-schemas.js';
import { CREDENTIAL_TYPES } from './credentials.js';
import { isRateLimit } from './rate-budgets.service.js';
import { isCdnDriver, isDnsDriver } from './provisioning-drivers.js';
import { isStorageProvider, PROVIDER_CAPABILITIES, PROVIDER_METADATA } from './provider.decorator.js';
import type { ConnectionProvider, ProviderMetadata } from './provider.decorator.js';

/** A provider found at boot, with its compiled config schema. */
export interface RegisteredProvider {
  metadata: ProviderMetadata;
  instance: ConnectionProvider;
  /** `ClassName`, with `(plug-in <file>)` for a plug-in's, for messages. */
  source: string;
  validateConfig(config: unknown): SchemaViolation[];
  /** A project's settings for it, checked; null when the provider takes none (no projectSettingsSchema). */
  validateProjectSettings(settings: unknown): SchemaViolation[] | null;
}

/** Thrown at boot when providers do not add up; the process does not start. */
export class ProviderSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderSetupError';
  }
}

const PROVIDER_KEY_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_VIOLATIONS = 50;

/**
 * Every `@Provider` class, found once at boot (built-in and plug-ins alike). Missing metadata, a
 * missing or mistyped field, a key declared twice, a bad key, an unknown credential type or
 * capability, a rate limit that is not one, or a config schema ajv cannot compile stops the boot,
 * naming each problem.
 */
@Injectable()
export class ProviderRegistry implements OnModuleInit {
  private readonly providers = new Map<string, RegisteredProvider>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const problems: string[] = [];
    const ajv = newAjv();
    for (const wrapper of this.discovery.getProviders()) {
      if (!wrapper.metatype || !wrapper.instance || typeof wrapper.instance !== 'object') continue;
      const metatype = wrapper.metatype as () => unknown;
      // Whether it is marked at all: `Provider()` in plain JavaScript marks it with no metadata.
      if (!Reflect.hasMetadata(PROVIDER_METADATA, metatype)) continue;
      const metadata = this.reflector.get<ProviderMetadata | undefined>(PROVIDER_METADATA, metatype);
      const source = withPluginOrigin((wrapper.instance as object).constructor.name, wrapper.host?.metatype);
      if (typeof metadata !== 'object' || metadata === null) {
        problems.push(
          `${source}: @Provider() was given no metadata; pass it { key, title, kinds, configSchema, credentialTypes, capabilities }`,
        );
        continue;
      }
      const shape = shapeProblems(metadata);
      if (shape.length > 0) {
        problems.push(...shape.map((problem) => `${source}: ${problem}`));
        continue;
      }
      const existing = this.providers.get(metadata.key);
      if (existing) {
        problems.push(
          `provider key "${metadata.key}" is declared twice: by ${existing.source} and ${source}`,
        );
        continue;
      }
      const instance = wrapper.instance as ConnectionProvider;
      const own = metadataProblems(metadata).map((problem) => `${source}: ${problem}`);
      if (metadata.capabilities.includes('webhooks') !== (typeof instance.verifyWebhook === 'function'))
        own.push(`${source}: a provider has the webhooks capability if and only if it has verifyWebhook()`);
      if (metadata.capabilities.includes('storage') !== isStorageProvider(instance)) {
        own.push(
          `${source}: a provider has the storage capability if and only if it has put(), get(), delete(), list() and usage()`,
        );
      }
      if (metadata.capabilities.includes('cdn') !== isCdnDriver(instance))
        own.push(
          `${source}: a provider has the cdn capability if and only if it has cdnCreate(), cdnUpdate(), cdnDelete(), cdnPurge() and cdnStatus()`,
        );
      if (metadata.capabilities.includes('dns') !== isDnsDriver(instance))
        own.push(
          `${source}: a provider has the dns capability if and only if it has dnsUpsertCname() and dnsDeleteCname()`,
        );
      if ((metadata.projectEvents ?? []).length > 0 && typeof instance.onProjectEvent !== 'function')
        own.push(`${source}: a provider with projectEvents needs onProjectEvent()`);
      const projectMethods = ['syncProject', 'onProjectEvent', 'projectRoutes'] as const;
      if (!metadata.projectSettingsSchema && projectMethods.some((m) => typeof instance[m] === 'function'))
        own.push(`${source}: a provider with ${projectMethods.join(', ')} needs projectSettingsSchema`);
      let validate: ValidateFunction | undefined;
      let validateProject: ValidateFunction | undefined;
      for (const [name, schema] of [
        ['configSchema', metadata.configSchema],
        ['projectSettingsSchema', metadata.projectSettingsSchema],
      ] as const) {
        try {
          const compiled = schema === undefined ? undefined : ajv.compile(schema);
          if (name === 'configSchema') validate = compiled;
          else validateProject = compiled;
        } catch (error) {
          own.push(`${source}: its ${name} does not compile: ${(error as Error).message}`);
        }
      }
      if (own.length > 0 || !validate) {
        problems.push(...own);
        continue;
      }
      const check = validate;
      this.providers.set(metadata.key, {
        metadata,
        instance,
        source,
        validateConfig: (config) => {
          if (!check(config)) {
            return (check.errors ?? [])
              .slice(0, MAX_VIOLATIONS)
              .map(toViolation)
              .map(({ path, message }) => ({ path: `/config${path}`, message }));
          }
          return [
            ...userinfoProblems(config),
            ...(instance.validate?.(config as Record<string, unknown>) ?? []),
          ];
        },
        validateProjectSettings: (settings) => {
          if (!validateProject) return null;
          if (!validateProject(settings)) {
            return (validateProject.errors ?? [])
              .slice(0, MAX_VIOLATIONS)
              .map(toViolation)
              .map(({ path, message }) => ({ path: `/settings${path}`, message }));
          }
          return instance.validateProjectSettings?.(settings as Record<string, unknown>) ?? [];
        },
      });
    }
    if (problems.length > 0)
      throw new ProviderSetupError(`providers are not set up right:\n- ${problems.join('\n- ')}`);
  }

  find(key: string): RegisteredProvider | undefined {
    return this.providers.get(key);
  }

  all(): RegisteredProvider[] {
    return [...this.providers.values()].sort((a, b) => a.metadata.key.localeCompare(b.metadata.key));
  }
}

/**
 * What the types demand but a plug-in in plain JavaScript may leave out; the other checks read
 * these fields, and a provider without a config schema would otherwise be dropped without a word.
 */
function shapeProblems(metadata: ProviderMetadata): string[] {
  const fields = metadata as unknown as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof fields.key !== 'string') problems.push('its key must be a string');
  if (typeof fields.title !== 'string') problems.push('its title must be a string');
  if (!isStringArray(fields.kinds)) problems.push('its kinds must be an array of strings');
  if (!isSchema(fields.configSchema)) problems.push('its configSchema must be a JSON Schema (an object)');
  if (fields.projectSettingsSchema !== undefined && !isSchema(fields.projectSettingsSchema))
    problems.push('its projectSettingsSchema must be a JSON Schema (an object)');
  for (const name of ['credentialTypes', 'capabilities'] as const) {
    if (!Array.isArray(fields[name])) problems.push(`its ${name} must be an array`);
  }
  if (fields.projectEvents !== undefined && !isStringArray(fields.projectEvents))
    problems.push('its projectEvents must be an array of strings');
  return problems;
}

function isStringArray(value: unknown): boolean {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isSchema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function metadataProblems(metadata: ProviderMetadata): string[] {
  const problems: string[] = [];
  if (!PROVIDER_KEY_PATTERN.test(metadata.key) || metadata.key.length > 100)
    problems.push(`key "${metadata.key}" must be lowercase words joined by dashes`);
  if (metadata.credentialTypes.length === 0) problems.push('it must accept at least one credential type');
  for (const type of metadata.credentialTypes) {
    if (!CREDENTIAL_TYPES.includes(type)) problems.push(`unknown credential type "${String(type)}"`);
  }
  for (const capability of metadata.capabilities) {
    if (!PROVIDER_CAPABILITIES.includes(capability))
      problems.push(`unknown capability "${String(capability)}"`);
  }
  if (metadata.rateLimit !== undefined && !isRateLimit(metadata.rateLimit)) {
    problems.push(
      `its rateLimit must be { requests, perMs }, both whole numbers of 1 or more, perMs at most ${MAX_RATE_WINDOW_MS}: ${JSON.stringify(metadata.rateLimit)}`,
    );
  }
  if (metadata.credentialTypes.includes('oauth2') && !metadata.oauth2)
    problems.push('it takes oauth2 credentials, so it must declare oauth2 { authorizationUrl, tokenUrl }');
  return problems;
}
