import { getMetadataStorage } from 'class-validator';
import { EnvSchema } from '../../src/config/env.schema';

/** Every variable the service validates, with its default (undefined when it has none). */
export function schemaDefaults(): Map<string, unknown> {
  const names = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(EnvSchema, '', true, false)
      .map((m) => m.propertyName),
  );
  const instance = new EnvSchema() as unknown as Record<string, unknown>;
  return new Map([...names].map((name) => [name, instance[name]]));
}
