import { ApiProperty } from '@nestjs/swagger';
import { CREDENTIAL_TYPES } from '../credentials.js';
import type { CredentialType } from '../credentials.js';
import { PROVIDER_CAPABILITIES } from '../provider.decorator.js';
import type { ProviderCapability } from '../provider.decorator.js';
import type { RegisteredProvider } from '../provider.registry.js';

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
}

export function toProviderDto({ metadata }: RegisteredProvider): ProviderDto {
  const { key, title, kinds, configSchema, credentialTypes, capabilities } = metadata;
  return { key, title, kinds, configSchema, credentialTypes, capabilities };
}
