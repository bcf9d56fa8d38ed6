import { Transform, Type } from 'class-transformer';

const OPAQUE_FIELDS = Symbol('opaqueFields');

type WithOpaqueFields = { [OPAQUE_FIELDS]?: readonly string[] };

/**
 * A field delivered exactly as received (a chat body, a notification payload): only its own
 * validators look at it. Nest's validation pipe deletes `__proto__`, `constructor` and `prototype`
 * keys at every level, so the envelope pipe (`createValidationPipe`) skips this field. class-
 * transformer would copy it key by key (and throw on a `constructor` key holding an object): typed
 * as Boolean it stops at the field (an array: at its items) without any walk, then the transform
 * puts back the received value.
 */
export function Opaque(): PropertyDecorator {
  const noWalk = Type(() => Boolean);
  const keep = Transform(({ obj, key }) => (obj as Record<string, unknown>)[key], {
    toClassOnly: true,
  });
  return (target, property) => {
    noWalk(target, property);
    keep(target, property);
    const owner = target.constructor as WithOpaqueFields;
    owner[OPAQUE_FIELDS] = [...(owner[OPAQUE_FIELDS] ?? []), String(property)];
  };
}

/** The `@Opaque()` fields of a DTO class (its own and inherited). */
export function opaqueFieldsOf(metatype: unknown): readonly string[] {
  return typeof metatype === 'function'
    ? ((metatype as WithOpaqueFields)[OPAQUE_FIELDS] ?? [])
    : [];
}
