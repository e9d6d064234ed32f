import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiResponse } from '@nestjs/swagger';

/** The body of every error response. */
export class ErrorBodyDto {
  @ApiProperty({ example: 404 })
  statusCode!: number;

  @ApiProperty({ description: 'A stable code to branch on', example: 'ACCOUNT_NOT_FOUND' })
  error!: string;

  @ApiProperty({ example: 'no account with id 019abc12-3def-7456-89ab-cdef01234567' })
  message!: string;

  @ApiPropertyOptional({
    description: 'Every violation, for validation errors',
    example: ['email must be an email'],
  })
  details?: unknown;

  @ApiPropertyOptional({ description: 'For a 500: the id under which the error was logged' })
  errorId?: string;
}

/** The error responses every authenticated route can give, for the OpenAPI document. */
export const ApiStandardErrors = () =>
  applyDecorators(
    ApiResponse({ status: 400, description: 'Invalid input', type: ErrorBodyDto }),
    ApiResponse({
      status: 401,
      description: 'Missing, wrong, revoked or expired API key',
      type: ErrorBodyDto,
    }),
    ApiResponse({ status: 403, description: 'Role too low', type: ErrorBodyDto }),
  );
