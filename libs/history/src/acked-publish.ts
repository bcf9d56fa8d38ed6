import { ErrorCode, type JetStreamClient, type NatsConnection, NatsError, type PubAck } from 'nats';
import { toNatsHeaders } from '@app/relay';

export interface AckedPublishOptions {
  /** The dedupe id every attempt carries: JetStream stores the message at most once. */
  readonly msgID: string;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * No ack by then: the connection is flushed (a PING, for at most as long again), and only if
   * the ack has not come before the PONG does it reject with a `TIMEOUT` NatsError.
   */
  readonly timeoutMs: number;
  /** How long an attempt waits for its ack before the same message is published again. */
  readonly attemptMs: number;
}

/** A repeat with less time left than this would only add load. */
const MIN_ATTEMPT_MS = 100;

/**
 * Publishes to JetStream and resolves with the first ack of any attempt. While none has come, the
 * same message (same `msgID`) is published again every `attemptMs`: JetStream answers a repeat
 * with the first store's seq, so an ack lost or late costs a repeat, not a false error. Earlier
 * attempts stay open, so a late ack still counts. At the deadline it does not give up at once: on a
 * busy event loop the ack is often already in the socket, unread, when the timer fires. It flushes
 * the connection instead: the server answers the PING after everything it sent before, so once the
 * PONG is read, an ack the server sent has been read too, and "not acknowledged" is the broker's
 * doing, not the loop's.
 */
export function publishUntilAcked(
  nc: NatsConnection,
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  options: AckedPublishOptions,
): Promise<PubAck> {
  const deadline = performance.now() + options.timeoutMs;
  return new Promise<PubAck>((resolve, reject) => {
    let settled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settle = (done: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done();
    };
    const attempt = (): void => {
      js.publish(subject, data, {
        msgID: options.msgID,
        // Our timers decide. nats.js drops a reply once its own timeout has fired, so it must
        // outlive our deadline and the flush; this only bounds how long it keeps the request.
        timeout: options.timeoutMs * 3,
        ...(options.headers && { headers: toNatsHeaders(options.headers) }),
      }).then(
        (ack) => settle(() => resolve(ack)),
        (err: unknown) => {
          if (!isTimeout(err))
            settle(() => reject(err instanceof Error ? err : new Error(String(err))));
        },
      );
      const left = deadline - performance.now();
      timer = setTimeout(
        () =>
          setImmediate(() => {
            if (settled) return;
            if (deadline - performance.now() >= MIN_ATTEMPT_MS) attempt();
            else giveUpAfterFlush();
          }),
        Math.max(0, Math.min(left, options.attemptMs)),
      );
    };
    const giveUpAfterFlush = (): void => {
      const giveUp = (): void => settle(() => reject(NatsError.errorForCode(ErrorCode.Timeout)));
      timer = setTimeout(giveUp, options.timeoutMs);
      nc.flush().then(giveUp, giveUp);
    };
    attempt();
  });
}

function isTimeout(err: unknown): boolean {
  return err instanceof NatsError && err.code === (ErrorCode.Timeout as string);
}
