import { Injectable, type PipeTransform } from '@nestjs/common';
import { AppError } from '@app/core';
import { MALFORMED } from './safe-nats.deserializer';

/** Runs before validation: a message that was not JSON is refused as such, not as a bad field. */
@Injectable()
export class RejectMalformedPipe implements PipeTransform {
  transform(value: unknown): unknown {
    if (value === MALFORMED) throw new AppError('bad_request', 'the message is not valid JSON');
    return value;
  }
}
