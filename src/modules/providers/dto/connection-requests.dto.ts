import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { IsNotBlank } from '../../../common/validation/not-blank.decorator.js';
import { PageQueryDto } from '../../../common/pagination/pagination.js';
import { CONNECTION_STATES } from '../connection.entity.js';
import type { ConnectionSettings, ConnectionState } from '../connection.entity.js';

const CREDENTIALS_EXAMPLE = { type: 'bearer', token: 'partner-token-0123456789' };
const CREDENTIALS_DESCRIPTION =
  'A type the provider accepts and its fields: none {}, api_key {header, key}, bearer {token}, ' +
  'basic {username, password}, hmac {secret}. Sealed before it is stored; never shown again.';

const SETTINGS_EXAMPLE = { syncEvery: '1h', contentTypes: { photos: { enabled: true, from: '2025-01-01' } } };
const SETTINGS_DESCRIPTION =
  'For a provider that syncs: `syncEvery`, an interval of a minute or more (`15m`, `2h`, `1d`, ' +
  '`@every 90m`) or a 5-field cron, read in UTC; `contentTypes`, the types a sync reads (all when ' +
  'absent; only those listed and not `enabled: false` when present), each with an ISO date range ' +
  '`from`/`to` (both included).';

export class CreateConnectionDto {
  @ApiProperty({ example: 'http', description: 'The key of a provider (GET /providers)' })
  @IsString()
  @Matches(/^[a-z0-9]+(-[a-z0-9]+)*$/, { message: 'provider must be a provider key' })
  @MaxLength(100)
  provider!: string;

  @ApiProperty({
    example: 'manufacturer',
    maxLength: 200,
    description: 'Unique among the account’s connections',
  })
  @IsString()
  @IsNotBlank()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The owner; the caller’s own account by default' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { baseUrl: 'https://partner.example', timeoutMs: 10000 },
    description: "Settings, checked against the provider's configSchema",
  })
  @IsObject()
  config!: Record<string, unknown>;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: CREDENTIALS_EXAMPLE,
    description: CREDENTIALS_DESCRIPTION,
  })
  @IsObject()
  credentials!: Record<string, unknown>;

  @ApiPropertyOptional({ example: SETTINGS_EXAMPLE, description: SETTINGS_DESCRIPTION })
  @IsOptional()
  @IsObject()
  settings?: ConnectionSettings;
}

export class UpdateConnectionDto {
  @ApiPropertyOptional({ example: 'manufacturer (EU)', maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsNotBlank()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    example: { baseUrl: 'https://eu.partner.example' },
    description: 'Replaces the whole config; checked like on create',
  })
  @IsOptional()
  @IsObject()
  config?: Record<string, unknown>;

  @ApiPropertyOptional({
    example: SETTINGS_EXAMPLE,
    description: `Replaces the whole settings. ${SETTINGS_DESCRIPTION}`,
  })
  @IsOptional()
  @IsObject()
  settings?: ConnectionSettings;
}

export class ReplaceCredentialsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: CREDENTIALS_EXAMPLE,
    description: CREDENTIALS_DESCRIPTION,
  })
  @IsObject()
  credentials!: Record<string, unknown>;
}

export class ConnectionQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'http' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  provider?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  accountId?: string;

  @ApiPropertyOptional({ enum: CONNECTION_STATES, example: 'active' })
  @IsOptional()
  @IsIn(CONNECTION_STATES)
  state?: ConnectionState;
}

export class RotateWebhookSecretDto {
  @ApiPropertyOptional({
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description:
      'The secret the sender gave (Stripe and some Standard Webhooks senders make their own); a random one when absent',
  })
  @IsOptional()
  @IsString()
  @MinLength(16)
  @MaxLength(200)
  secret?: string;
}
