import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsNotBlank } from '../../../common/validation/not-blank.decorator.js';
import { IsoTime } from '../../../common/validation/iso-time.decorator.js';

export class CreateApiKeyDto {
  @ApiProperty({ example: 'shop integration', maxLength: 200 })
  @IsString()
  @IsNotBlank()
  @MaxLength(200)
  name!: string;

  @ApiPropertyOptional({
    description: 'When the key stops working; never when absent',
    example: '2027-12-31T23:59:59Z',
  })
  @IsOptional()
  @IsoTime()
  expiresAt?: Date;
}
