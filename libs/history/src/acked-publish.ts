import {
  ErrorCode,
  headers as natsHeaders,
  type JetStreamClient,
  type MsgHdrs,
  NatsError,
  type PubAck,
} from 'nats';

export interface AckedPublishOptions {
  /** The dedupe id every attempt carries: JetStream stores the message at most once. */
  readonly msgID: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** No ack by then: rejects with a `TIMEOUT` NatsError. */
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
 * attempts stay open until the deadline, so a late ack still counts. A timer only gives up after
 * the event loop has read its sockets once more (`setImmediate` runs after the poll phase): on a
 * busy loop the ack is often already in the socket buffer when the timer fires.
 */
export function publishUntilAcked(
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
        // outlive our deadline; this only bounds how long it keeps the request afterwards.
        timeout: options.timeoutMs * 2,
        ...(options.headers && { headers: toMsgHdrs(options.headers) }),
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
            else settle(() => reject(NatsError.errorForCode(ErrorCode.Timeout)));
          }),
        Math.max(0, Math.min(left, options.attemptMs)),
      );
    };
    attempt();
  });
}

function isTimeout(err: unknown): boolean {
  return err instanceof NatsError && err.code === (ErrorCode.Timeout as string);
}

function toMsgHdrs(record: Readonly<Record<string, string>>): MsgHdrs {
  const h = natsHeaders();
  for (const [k, v] of Object.entries(record)) h.set(k, v);
  return h;
}
