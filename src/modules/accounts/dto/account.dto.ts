import { ApiProperty } from '@nestjs/swagger';
import { ACCOUNT_ROLES } from '../../../common/auth/roles.js';
import type { AccountRole } from '../../../common/auth/roles.js';
import { PageDto } from '../../../common/pagination/pagination.js';
import type { Account } from '../account.entity.js';

export class AccountDto {
  @ApiProperty({ format: 'uuid', example: '019abc12-3def-7456-89ab-cdef01234567' })
  id!: string;

  @ApiProperty({ example: 'Warehouse team' })
  name!: string;

  @ApiProperty({ example: 'warehouse@example.com' })
  email!: string;

  @ApiProperty({ enum: ACCOUNT_ROLES, example: 'operator' })
  role!: AccountRole;

  @ApiProperty({ example: false })
  disabled!: boolean;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-11-24T10:00:00.000Z' })
  updatedAt!: string;
}

export class AccountPageDto extends PageDto(AccountDto) {}

export function toAccountDto(account: Account): AccountDto {
  return {
    id: account.id,
    name: account.name,
    email: account.email,
    role: account.role,
    disabled: account.disabled,
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
  };
}
