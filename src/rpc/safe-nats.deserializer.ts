import { randomUUID } from 'node:crypto';
import type { ConsumerDeserializer, IncomingEvent, IncomingRequest } from '@nestjs/microservices';
import { exceedsJsonDepth, isPlainObject, jsonDepthMessage, type WsMetrics } from '@app/ws';
import { natsBadInput } from './nats-bad-input';
import { RefusedInput } from './refused-input';

const decoder = new TextDecoder();

/**
 * Nest's NATS server parses messages inside an async callback: a parse error there becomes an
 * unhandled rejection, which ends a Node 20 process. Other services must not be able to crash a
 * replica with one bad message, so a parse error becomes a value the handler's validation refuses.
 * Packets from Nest clients (`{pattern, data, id?}`) pass as they are; any other JSON is taken as
 * the data of the subject's pattern. A plain NATS request (a reply subject, no Nest `id`) gets an
 * id, so it is answered like a Nest request instead of being handled as a fire-and-forget event.
 * A message nested deeper than `maxDepth` is refused before `JSON.parse`, as WS frames are.
 */
export class SafeNatsDeserializer implements ConsumerDeserializer {
  constructor(
    private readonly maxDepth: number,
    private readonly metrics: WsMetrics,
  ) {}

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
    if (exceedsJsonDepth(value, this.maxDepth)) {
      this.metrics.tooDeepRefusals.inc();
      return this.refuse(pattern, jsonDepthMessage(this.maxDepth));
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(value));
    } catch {
      return this.refuse(pattern, 'the message is not valid JSON');
    }
    if (isPlainObject(parsed) && (parsed.pattern !== undefined || parsed.data !== undefined)) {
      return parsed as unknown as IncomingRequest | IncomingEvent;
    }
    return { pattern, data: parsed };
  }

  private refuse(pattern: string, reason: string): IncomingEvent {
    natsBadInput.note(pattern, { subject: pattern, reason });
    return { pattern, data: new RefusedInput(reason) };
  }
}
