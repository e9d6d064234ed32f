import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import { CONNECTION_STATES } from '../connection.entity.js';
import type { Connection, ConnectionSettings, ConnectionState } from '../connection.entity.js';
import type { CheckOutcome } from '../connections.service.js';
import { CREDENTIAL_TYPES } from '../credentials.js';
import type { CredentialType } from '../credentials.js';

export class CredentialsSummaryDto {
  @ApiProperty({ enum: CREDENTIAL_TYPES, example: 'bearer' })
  type!: CredentialType;

  @ApiProperty({ description: 'Whether secret fields are stored (false for type none)', example: true })
  set!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '…6789',
    description: 'The last characters of the secret',
  })
  hint!: string | null;
}

export class ConnectionProblemDto {
  @ApiProperty({ example: 'AUTH' })
  code!: string;

  @ApiProperty({ example: 'the partner answered 401' })
  message!: string;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  at!: string;
}

export class ConnectionDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({ example: 'http' })
  provider!: string;

  @ApiProperty({ example: 'manufacturer' })
  name!: string;

  @ApiProperty({ example: { baseUrl: 'https://partner.example' } })
  config!: Record<string, unknown>;

  @ApiProperty({ type: CredentialsSummaryDto })
  credentials!: CredentialsSummaryDto;

  @ApiProperty({
    example: { syncEvery: '1h', contentTypes: { photos: { from: '2025-01-01' } } },
    description: 'How often it syncs and which content types over which dates; {} when unset',
  })
  settings!: ConnectionSettings;

  @ApiProperty({
    type: Date,
    nullable: true,
    description: 'Since when its syncs are paused (POST /connections/{id}/syncs/pause); null while they run',
  })
  syncsPausedAt!: Date | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'https://junction.example.com/webhooks/019abc12-3def-7456-89ab-cdef01234567',
    description:
      'Where the partner sends its webhooks, for a provider that receives them (JUNCTION_PUBLIC_URL + /webhooks/{id})',
  })
  webhookUrl!: string | null;

  @ApiProperty({ enum: CONNECTION_STATES, example: 'active' })
  state!: ConnectionState;

  @ApiProperty({ type: ConnectionProblemDto, nullable: true })
  lastError!: ConnectionProblemDto | null;

  @ApiProperty({ type: Date, nullable: true })
  lastUsedAt!: Date | null;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ example: '2026-12-01T10:00:00.000Z' })
  updatedAt!: Date;
}

export class ConnectionPageDto extends PageDto(ConnectionDto) {}

export class CreatedConnectionDto extends ConnectionDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description:
      'For a provider that receives webhooks: the secret the partner signs them with, shown this once (rotate it to see a new one)',
  })
  webhookSecret!: string | null;
}

export class WebhookSecretDto {
  @ApiProperty({ example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', description: 'Shown this once' })
  webhookSecret!: string;

  @ApiProperty({ example: 'https://junction.example.com/webhooks/019abc12-3def-7456-89ab-cdef01234567' })
  webhookUrl!: string;

  @ApiProperty({
    type: Date,
    nullable: true,
    example: '2026-12-07T10:00:00.000Z',
    description: 'Until when deliveries signed with the previous secret are still accepted',
  })
  previousValidUntil!: Date | null;

  @ApiProperty({
    type: Date,
    isArray: true,
    example: ['2026-12-07T10:00:00.000Z', '2026-12-06T18:00:00.000Z'],
    description:
      'Until when deliveries signed with each secret rotated out in the last 24 hours are still accepted, newest first (at most 10); the secrets are not shown again',
  })
  previousSecretsValidUntil!: Date[];
}

export class CheckOutcomeDto {
  @ApiProperty({ example: true })
  ok!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'TEMPORARY, AUTH ... when not ok',
  })
  code!: string | null;

  @ApiProperty({ example: 'the connection works' })
  message!: string;

  @ApiProperty({ example: 84 })
  durationMs!: number;
}

/** The connection as the API shows it; `publicUrl` is where partners reach this installation. */
export function toConnectionDto(connection: Connection, publicUrl: string): ConnectionDto {
  return {
    id: connection.id,
    accountId: connection.accountId,
    provider: connection.provider,
    name: connection.name,
    config: connection.config,
    credentials: {
      type: connection.credentialType,
      set: connection.credentialsSealed !== null,
      hint: connection.credentialsHint,
    },
    settings: connection.settings,
    syncsPausedAt: connection.syncsPausedAt,
    webhookUrl: connection.webhookSecretSealed === null ? null : webhookUrlOf(connection.id, publicUrl),
    state: connection.state,
    lastError: connection.lastError,
    lastUsedAt: connection.lastUsedAt,
    createdAt: connection.createdAt,
    updatedAt: connection.updatedAt,
  };
}

export function toWebhookSecretDto(
  connection: Connection,
  secret: string,
  publicUrl: string,
): WebhookSecretDto {
  const previousSecretsValidUntil = connection.webhookPreviousSecrets.map(
    (previous) => new Date(previous.expiresAt),
  );
  return {
    webhookSecret: secret,
    webhookUrl: webhookUrlOf(connection.id, publicUrl),
    previousValidUntil: previousSecretsValidUntil[0] ?? null,
    previousSecretsValidUntil,
  };
}

function webhookUrlOf(id: string, publicUrl: string): string {
  return `${publicUrl}/webhooks/${id}`;
}

export function toCheckOutcomeDto(outcome: CheckOutcome): CheckOutcomeDto {
  return { ...outcome };
}
