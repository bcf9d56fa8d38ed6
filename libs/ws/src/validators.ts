import { ValidateBy, buildMessage, type ValidationOptions } from 'class-validator';
import { isPlainObject } from './frames';

export function IsStringOrNumber(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringOrNumber',
      validator: {
        validate: (value: unknown) =>
          (typeof value === 'string' && value.length <= 128) ||
          (typeof value === 'number' && Number.isFinite(value)),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be a string (max 128) or a number`,
          options,
        ),
      },
    },
    options,
  );
}

/** A message body: a string or a JSON object (never an array, number or null). */
export function IsStringOrObject(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isStringOrObject',
      validator: {
        validate: (value: unknown) => typeof value === 'string' || isPlainObject(value),
        defaultMessage: buildMessage(
          (each) => `${each}$property must be a string or a JSON object`,
          options,
        ),
      },
    },
    options,
  );
}
