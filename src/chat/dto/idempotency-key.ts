import { IsOptional, Matches } from 'class-validator';

/** A client's idempotency key: repeating a send with it within 5 minutes stores it once. */
export function IsIdempotencyKey(): PropertyDecorator {
  return (target, property) => {
    IsOptional()(target, property);
    Matches(/^[\x21-\x7e]{1,128}$/, { message: 'key must be 1-128 printable ASCII characters' })(
      target,
      property,
    );
  };
}
