import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { AppError, type FieldError } from '@app/core';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * The one validation configuration, for WebSocket frames, REST bodies and NATS events alike:
 * unknown fields are refused, and failures become `bad_request` naming every field at fault.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const fields = flatten(errors);
      const names = [...new Set(fields.map((f) => f.field))].join(', ');
      return new AppError('bad_request', `invalid fields: ${names}`, fields);
    },
  });
}
