import { ApiProperty } from '@nestjs/swagger';
import { PageDto } from '../../../common/pagination/pagination.js';
import type { ApiKey } from '../api-key.entity.js';

export class ApiKeyDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  accountId!: string;

  @ApiProperty({ example: 'shop integration' })
  name!: string;

  @ApiProperty({
    description: 'The first characters of the key, to tell keys apart',
    example: 'jk_Q2x8nF0aP',
  })
  prefix!: string;

  @ApiProperty({ type: String, nullable: true, example: '2027-12-31T23:59:59.000Z' })
  expiresAt!: string | null;

  @ApiProperty({ type: String, nullable: true, example: null })
  revokedAt!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '2026-11-24T10:05:00.000Z' })
  lastUsedAt!: string | null;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;
}

export class ApiKeyPageDto extends PageDto(ApiKeyDto) {}

export class CreatedApiKeyDto extends ApiKeyDto {
  @ApiProperty({
    description: 'The key itself. It is shown only now; store it, it cannot be read again',
    example: 'jk_Q2x8nF0aPzv3tLrW9cYk1uHbN6mE4sDfGjKlZxCvBn',
  })
  key!: string;
}

export function toApiKeyDto(apiKey: ApiKey): ApiKeyDto {
  return {
    id: apiKey.id,
    accountId: apiKey.accountId,
    name: apiKey.name,
    prefix: apiKey.prefix,
    expiresAt: apiKey.expiresAt?.toISOString() ?? null,
    revokedAt: apiKey.revokedAt?.toISOString() ?? null,
    lastUsedAt: apiKey.lastUsedAt?.toISOString() ?? null,
    createdAt: apiKey.createdAt.toISOString(),
  };
}
