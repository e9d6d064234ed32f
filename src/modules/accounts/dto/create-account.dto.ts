import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsIn, IsNotEmpty, IsString, MaxLength } from 'class-validator';
import { ACCOUNT_ROLES } from '../../../common/auth/roles.js';
import type { AccountRole } from '../../../common/auth/roles.js';

export class CreateAccountDto {
  @ApiProperty({ example: 'Warehouse team', maxLength: 200 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiProperty({ example: 'warehouse@example.com', maxLength: 320 })
  @IsEmail()
  @MaxLength(320)
  email!: string;

  @ApiProperty({ enum: ACCOUNT_ROLES, example: 'operator' })
  @IsIn(ACCOUNT_ROLES)
  role!: AccountRole;
}
