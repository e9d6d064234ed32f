import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsEmail, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsNotBlank } from '../../../common/validation/not-blank.decorator.js';
import { ACCOUNT_ROLES } from '../../../common/auth/roles.js';
import type { AccountRole } from '../../../common/auth/roles.js';

export class CreateAccountDto {
  @ApiProperty({ example: 'Warehouse team', maxLength: 200 })
  @IsString()
  @IsNotBlank()
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

export class UpdateAccountDto {
  @ApiPropertyOptional({ example: 'Warehouse team (night shift)', maxLength: 200 })
  @IsOptional()
  @IsString()
  @IsNotBlank()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ example: 'night@example.com', maxLength: 320 })
  @IsOptional()
  @IsEmail()
  @MaxLength(320)
  email?: string;

  @ApiPropertyOptional({ enum: ACCOUNT_ROLES, example: 'viewer' })
  @IsOptional()
  @IsIn(ACCOUNT_ROLES)
  role?: AccountRole;

  @ApiPropertyOptional({ description: "A disabled account's keys stop working at once", example: true })
  @IsOptional()
  @IsBoolean()
  disabled?: boolean;
}
