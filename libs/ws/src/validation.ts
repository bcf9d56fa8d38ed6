import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { AppError, type FieldError } from '@app/core';
import { isPlainObject } from './frames';
import { opaqueFieldsOf } from './opaque';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * Nest's pipe, except that it leaves `@Opaque()` fields as they came: its prototype-key stripping
 * (in place, at every level) would delete a body's `__proto__` or `constructor` key. The envelope is
 * still stripped, and the opaque values are only read (never merged into anything), so no
 * prototype is at risk.
 */
class EnvelopeValidationPipe extends ValidationPipe {
  /** Opaque values of the requests being validated, by identity. */
  private readonly opaque = new WeakSet<object>();

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (isPlainObject(value)) {
      for (const field of opaqueFieldsOf(metadata.metatype)) {
        const kept = value[field];
        if (typeof kept === 'object' && kept !== null) this.opaque.add(kept);
      }
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }

  protected override stripProtoKeys(value: unknown): void {
    if (typeof value === 'object' && value !== null && this.opaque.has(value)) return;
    super.stripProtoKeys(value);
  }
}

/**
 * The one validation configuration, for WebSocket frames, REST bodies and NATS events alike:
 * unknown fields are refused, and failures become `bad_request` naming every field at fault.
 */
export function createValidationPipe(): ValidationPipe {
  return new EnvelopeValidationPipe({
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
