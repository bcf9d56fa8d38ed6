/**
 * Fast path (checked against class-validator 0.15.1 and @nestjs/common 11.2.10): a DTO's
 * class-validator rules read once into plain checks, so that a valid request is accepted without
 * class-transformer and class-validator re-reading the metadata per frame. Measured in the bench's
 * CPU profile of 100 rooms × 10 at max rate: the pipe (class-transformer, class-validator, the
 * pipe's own copies) was ≈ 8 % of the publishing replica's samples; after, the compiled check and
 * the rules it calls are ≈ 2 % (BENCHMARKS.md, session 3).
 *
 * It only ever says "valid" or "ask the pipe": anything it does not know (groups, `each`, nested or
 * async rules, class-transformer decorators, unknown keys, a failing rule) goes to `ValidationPipe`, which then gives its usual
 * errors. The accepted value is copied one level deep: nested values (a chat `body`) are kept as
 * they came, never copied or transformed. `compiled-dto.spec.ts` checks both ways.
 */
import { TransformationType } from 'class-transformer';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { ValidationTypes, getMetadataStorage, type ValidationArguments } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';
import { opaqueFieldsOf } from './opaque';

type Check = (object: Record<string, unknown>, value: unknown) => boolean;

interface Property {
  name: string;
  /** All true, or the property is skipped (`@IsOptional`, `@ValidateIf`). */
  conditions: Check[];
  rules: Check[];
}

/** Builds the DTO from a plain object when every rule passes; undefined means "ask the pipe". */
export type CompiledDto = (plain: unknown) => object | undefined;

const compiled = new WeakMap<object, CompiledDto | null>();

/** The compiled check of `metatype`, or null when its rules are not all plain synchronous ones. */
export function compiledDto(metatype: new () => object): CompiledDto | null {
  let found = compiled.get(metatype);
  if (found === undefined) {
    found = compile(metatype);
    compiled.set(metatype, found);
  }
  return found;
}

function compile(metatype: new () => object): CompiledDto | null {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(metatype, '', true, false);
  if (metadatas.length === 0) return null;
  const byName = new Map<string, ValidationMetadata[]>();
  for (const m of metadatas) {
    if (typeof m.propertyName !== 'string') return null;
    byName.set(m.propertyName, [...(byName.get(m.propertyName) ?? []), m]);
  }
  const properties: Property[] = [];
  for (const [name, list] of byName) {
    const property = compileProperty(metatype.name, name, list);
    if (!property) return null;
    properties.push(property);
  }
  const allowed = new Set(byName.keys());
  if (hasTransformRules(metatype, [...allowed])) return null;
  return (plain) => {
    if (!isPlainRecord(plain, metatype)) return undefined;
    for (const key of Object.keys(plain)) if (!allowed.has(key)) return undefined;
    for (const { name, conditions, rules } of properties) {
      const value = plain[name];
      if (!conditions.every((c) => c(plain, value))) continue;
      for (const rule of rules) if (!rule(plain, value)) return undefined;
    }
    const dto = new metatype() as Record<string, unknown>;
    for (const key of Object.keys(plain)) dto[key] = plain[key];
    return dto;
  };
}

function compileProperty(
  targetName: string,
  name: string,
  list: ValidationMetadata[],
): Property | null {
  const storage = getMetadataStorage();
  const property: Property = { name, conditions: [], rules: [] };
  for (const m of list) {
    if (m.each || (m.groups && m.groups.length > 0)) return null;
    switch (m.type) {
      case ValidationTypes.WHITELIST:
        break;
      case ValidationTypes.CONDITIONAL_VALIDATION: {
        const condition = m.constraints?.[0] as unknown;
        if (typeof condition !== 'function') return null;
        const holds = condition as Check;
        property.conditions.push((object, value) => Boolean(holds(object, value)));
        break;
      }
      case ValidationTypes.IS_DEFINED:
      case ValidationTypes.CUSTOM_VALIDATION: {
        const constraints = storage.getTargetValidatorConstraints(m.constraintCls);
        if (constraints.length === 0 || constraints.some((c) => c.async)) return null;
        const validateIf = m.validateIf;
        for (const constraint of constraints) {
          const instance = constraint.instance;
          property.rules.push((object, value) => {
            if (validateIf && !validateIf(object, value)) return true;
            const args: ValidationArguments = {
              targetName,
              property: name,
              object,
              value,
              constraints: m.constraints,
            };
            // A promise (an async rule registered as sync) is not a `true`: the pipe decides.
            return instance.validate(value, args) === true;
          });
        }
        break;
      }
      default:
        return null;
    }
  }
  return property;
}

/**
 * `@Type`, `@Transform`, `@Expose` or `@Exclude`: class-transformer would change the values. An
 * `@Opaque()` field's own decorators only keep the value as it came, which this check does anyway.
 */
function hasTransformRules(metatype: new () => object, properties: string[]): boolean {
  const storage = defaultMetadataStorage;
  const opaque = new Set(opaqueFieldsOf(metatype));
  return (
    storage.getStrategy(metatype) !== 'none' ||
    storage.getExposedMetadatas(metatype).length > 0 ||
    storage.getExcludedMetadatas(metatype).length > 0 ||
    properties.some(
      (name) =>
        (!opaque.has(name) && storage.findTypeMetadata(metatype, name) !== undefined) ||
        (!opaque.has(name) &&
          storage.findTransformMetadatas(metatype, name, TransformationType.PLAIN_TO_CLASS).length >
            0),
    )
  );
}

/** A JSON object (or an already built instance of the same DTO), never an array or a class. */
function isPlainRecord(
  value: unknown,
  metatype: new () => object,
): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || proto === metatype.prototype;
}
