import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { ConsumerDeserializer, IncomingEvent, IncomingRequest } from '@nestjs/microservices';
import { isPlainObject } from '@app/ws';

/** What a handler receives for a message that is not JSON: validation then refuses it. */
export const MALFORMED = Object.freeze({ malformed: 'the message is not valid JSON' });

const decoder = new TextDecoder();

/**
 * Nest's NATS server parses messages inside an async callback: a parse error there becomes an
 * unhandled rejection, which ends a Node 20 process. Other services must not be able to crash a
 * replica with one bad message, so a parse error becomes a value the handler's validation refuses.
 * Packets from Nest clients (`{pattern, data, id?}`) pass as they are; any other JSON is taken as
 * the data of the subject's pattern. A plain NATS request (a reply subject, no Nest `id`) gets an
 * id, so it is answered like a Nest request instead of being handled as a fire-and-forget event.
 */
export class SafeNatsDeserializer implements ConsumerDeserializer {
  private readonly logger = new Logger(SafeNatsDeserializer.name);

  deserialize(
    value: Uint8Array,
    options?: Record<string, unknown>,
  ): IncomingRequest | IncomingEvent {
    const pattern = typeof options?.channel === 'string' ? options.channel : '';
    const isRequest = typeof options?.replyTo === 'string' && options.replyTo.length > 0;
    const packet = this.parse(value, pattern);
    if (isRequest && (packet as Partial<IncomingRequest>).id === undefined) {
      return { ...packet, id: randomUUID() };
    }
    return packet;
  }

  private parse(value: Uint8Array, pattern: string): IncomingRequest | IncomingEvent {
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(value));
    } catch {
      this.logger.warn({ subject: pattern, msg: 'NATS message is not valid JSON' });
      return { pattern, data: MALFORMED };
    }
    if (isPlainObject(parsed) && (parsed.pattern !== undefined || parsed.data !== undefined)) {
      return parsed as unknown as IncomingRequest | IncomingEvent;
    }
    return { pattern, data: parsed };
  }
}
