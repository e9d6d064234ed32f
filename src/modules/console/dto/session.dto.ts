import { ApiProperty } from '@nestjs/swagger';
import { ACCOUNT_ROLES } from '../../../common/auth/roles.js';
import type { AccountRole } from '../../../common/auth/roles.js';
import type { SignedIn } from '../sessions.service.js';

export class SessionAccountDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'Warehouse team' })
  name!: string;

  @ApiProperty({ example: 'warehouse@example.com' })
  email!: string;
}

/** Who is signed in, and with which role: the role of the API key they signed in with. */
export class SessionDto {
  @ApiProperty({ type: SessionAccountDto })
  account!: SessionAccountDto;

  @ApiProperty({ enum: ACCOUNT_ROLES, example: 'operator' })
  role!: AccountRole;

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'When the session ends; null when the caller used an API key, not a session',
    example: '2026-11-24T22:00:00.000Z',
  })
  expiresAt!: string | null;
}

export function toSessionDto(signedIn: SignedIn): SessionDto {
  return {
    account: { id: signedIn.account.id, name: signedIn.account.name, email: signedIn.account.email },
    role: signedIn.role,
    expiresAt: signedIn.expiresAt?.toISOString() ?? null,
  };
}
