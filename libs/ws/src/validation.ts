import { ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
import { AppError, type FieldError } from '@app/core';
import { compiledDto } from './compiled-dto';
import { WsParamtype } from './internals';
import { isPlainObject } from './frames';
import { opaqueFieldsOf } from './opaque';

function flatten(errors: ValidationError[], parent = ''): FieldError[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** DTOs this configuration has validated: a second pipe of it (global + gateway) passes them. */
const validated = new WeakSet<object>();

/**
 * `ValidationPipe` that first tries the DTO's compiled check (`compiled-dto.ts`): a valid body is
 * built at once; anything else goes through the pipe, which gives the same errors as before.
 * Gateways get the app's global pipe and `@WsGateway()`'s (Nest's external contexts apply both):
 * the second one finds the DTO already validated and passes it on.
 *
 * On the pipe's path, `@Opaque()` fields are left as they came: Nest's prototype-key stripping
 * (in place, at every level) would delete a body's `__proto__` or `constructor` key. The envelope
 * is still stripped, and opaque values are only read (never merged into anything), so no
 * prototype is at risk.
 */
export class CompiledValidationPipe extends ValidationPipe {
  /** Opaque values of the requests on the pipe's path, by identity. */
  private readonly opaque = new WeakSet<object>();

  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype } = metadata;
    if (!isBody(metadata) || typeof metatype !== 'function' || metatype.prototype === undefined) {
      return this.throughPipe(value, metadata);
    }
    if (isObject(value) && validated.has(value) && value instanceof metatype) {
      return Promise.resolve(value);
    }
    const dto = compiledDto(metatype as new () => object)?.(value);
    if (dto !== undefined) {
      validated.add(dto);
      return Promise.resolve(dto);
    }
    return this.throughPipe(value, metadata).then((result) => {
      if (isObject(result)) validated.add(result);
      return result;
    });
  }

  private throughPipe(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (isPlainObject(value)) {
      for (const field of opaqueFieldsOf(metadata.metatype)) {
        const kept = value[field];
        if (isObject(kept)) this.opaque.add(kept);
      }
    }
    return super.transform(value, metadata) as Promise<unknown>;
  }

  protected override stripProtoKeys(value: unknown): void {
    if (isObject(value) && this.opaque.has(value)) return;
    super.stripProtoKeys(value);
  }
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** A REST body (`'body'`), or a WebSocket or NATS payload (external contexts pass the number). */
function isBody({ type }: ArgumentMetadata): boolean {
  return type === 'body' || (type as unknown) === WsParamtype.PAYLOAD;
}

/**
 * The one validation configuration, for WebSocket frames, REST bodies and NATS events alike:
 * unknown fields are refused, and failures become `bad_request` naming every field at fault.
 */
export function createValidationPipe(): ValidationPipe {
  return new CompiledValidationPipe({
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
