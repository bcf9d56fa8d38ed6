import { Injectable, type PipeTransform } from '@nestjs/common';
import { AppError } from '@app/core';
import { RefusedInput } from './refused-input';

/** Runs before validation: a message refused unparsed is refused as such, not as a bad field. */
@Injectable()
export class RejectMalformedPipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (value instanceof RefusedInput) throw new AppError('bad_request', value.reason);
    return value;
  }
}
