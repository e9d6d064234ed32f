import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, IsString, MaxLength } from 'class-validator';

export class CreateSessionDto {
  @ApiProperty({
    description: 'An API key; it is exchanged for a session cookie and never stored by the browser',
    example: 'jk_3q2-7w…',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  apiKey!: string;
}
