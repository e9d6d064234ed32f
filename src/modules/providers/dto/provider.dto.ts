import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CREDENTIAL_TYPES } from '../credentials.js';
import type { CredentialType } from '../credentials.js';
import { PROVIDER_CAPABILITIES } from '../provider.decorator.js';
import type { ProviderCapability } from '../provider.decorator.js';
import type { RegisteredProvider } from '../provider.registry.js';

export class RateLimitDto {
  @ApiProperty({ example: 10 })
  requests!: number;

  @ApiProperty({ example: 1000 })
  perMs!: number;
}

export class ProviderDto {
  @ApiProperty({ example: 'http' })
  key!: string;

  @ApiProperty({ example: 'Any REST partner' })
  title!: string;

  @ApiProperty({ example: ['rest'] })
  kinds!: string[];

  @ApiProperty({
    description: "A JSON Schema for a connection's config, to render a form from",
    example: {
      type: 'object',
      required: ['baseUrl'],
      properties: { baseUrl: { type: 'string', format: 'uri' } },
    },
  })
  configSchema!: Record<string, unknown>;

  @ApiProperty({ enum: CREDENTIAL_TYPES, isArray: true, example: ['none', 'bearer'] })
  credentialTypes!: CredentialType[];

  @ApiProperty({ enum: PROVIDER_CAPABILITIES, isArray: true, example: ['actions'] })
  capabilities!: ProviderCapability[];

  @ApiPropertyOptional({
    type: RateLimitDto,
    nullable: true,
    description:
      "The partner calls a connection may make, unless its config's rateLimit says otherwise; null: no limit",
  })
  rateLimit!: RateLimitDto | null;

  @ApiProperty({
    type: 'object',
    nullable: true,
    additionalProperties: true,
    description:
      'The JSON Schema of the settings a project gives it (PUT /projects/{id}/providers/{key}); null: none',
  })
  projectSettingsSchema!: Record<string, unknown> | null;
}

export function toProviderDto({ metadata }: RegisteredProvider): ProviderDto {
  const { key, title, kinds, configSchema, credentialTypes, capabilities } = metadata;
  const rateLimit = metadata.rateLimit ? { ...metadata.rateLimit } : null;
  const projectSettingsSchema = metadata.projectSettingsSchema ?? null;
  return { key, title, kinds, configSchema, credentialTypes, capabilities, rateLimit, projectSettingsSchema };
}
