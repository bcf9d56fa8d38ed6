import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ERROR_CODES } from '@app/core';

/** A field at fault (OpenAPI schema of `FieldError`). */
export class FieldErrorDto {
  @ApiProperty({ example: 'stream' })
  field!: string;

  @ApiProperty({ example: 'stream must be public.<name> or private.<name>' })
  message!: string;
}

/** Every HTTP error body, as `HttpErrorFilter` writes it (OpenAPI schema only). */
export class ErrorBodyDto {
  @ApiProperty({ enum: ERROR_CODES, enumName: 'ErrorCode', example: 'bad_request' })
  code!: string;

  @ApiProperty({ example: 'stream must be public.<name> or private.<name>' })
  message!: string;

  @ApiPropertyOptional({
    type: [FieldErrorDto],
    description: 'With `bad_request`: each field at fault',
  })
  fields?: FieldErrorDto[];

  @ApiPropertyOptional({
    example: 1000,
    description: 'With `overloaded`: when to retry (also the `Retry-After` header, in seconds)',
  })
  retryAfterMs?: number;
}
