import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { AppError } from '@app/core';
import type { Request } from 'express';

const HEADER = 'Idempotency-Key';
const PATTERN = /^[\x21-\x7e]{1,255}$/;

/**
 * The optional `Idempotency-Key` header, validated. A param decorator of our own rather than
 * `@Headers()`, which OpenAPI would list a second time as a required header.
 */
export const IdempotencyKey = createParamDecorator(
  (_: unknown, context: ExecutionContext): string | undefined => {
    const key = context.switchToHttp().getRequest<Request>().header(HEADER);
    if (key !== undefined && !PATTERN.test(key)) {
      throw new AppError('bad_request', `${HEADER} must be 1-255 printable ASCII characters`, [
        { field: HEADER, message: 'must be 1-255 printable ASCII characters' },
      ]);
    }
    return key;
  },
);

/** The header in the OpenAPI document: optional, with its pattern. */
export const ApiIdempotencyKey = (): MethodDecorator =>
  ApiHeader({
    name: HEADER,
    required: false,
    schema: { type: 'string', pattern: PATTERN.source, example: 'order-108-shipped' },
    description: 'Repeating a key within 5 minutes returns the first {id, seq} and delivers once',
  });
