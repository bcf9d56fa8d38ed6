import { ValidateBy, type ValidationOptions } from 'class-validator';
import { isPlainObject } from '@app/ws';

/** `since`: `{ "<stream>": <seq> }` with integer seqs >= 0. */
export function IsSeqMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isSeqMap',
      validator: {
        validate: (value: unknown) =>
          isPlainObject(value) &&
          Object.values(value).every((seq) => Number.isSafeInteger(seq) && (seq as number) >= 0),
        defaultMessage: () => 'since must map stream names to integer seqs >= 0',
      },
    },
    options,
  );
}
