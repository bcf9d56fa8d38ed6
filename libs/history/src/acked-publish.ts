import {
  type ApiError,
  createInbox,
  ErrorCode,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  NatsError,
  type PubAck,
} from 'nats';

export interface AckTiming {
  /**
   * No ack by then: the connection is flushed (a PING, for at most as long again), and only if
   * the ack has not come before the PONG does the publish reject with a `TIMEOUT` NatsError.
   */
  readonly timeoutMs: number;
  /** How long an attempt waits for its ack before the same message is published again. */
  readonly attemptMs: number;
}

interface PendingAck {
  /** The last part of `reply`: the key of `waiting` and `flushing`. */
  readonly token: string;
  readonly reply: string;
  readonly subject: string;
  readonly data: Uint8Array;
  /** Carry the dedupe id (`Nats-Msg-Id`): every attempt is the same message to JetStream. */
  readonly headers: MsgHdrs;
  readonly deadline: number;
  /** When the next attempt is due (`performance.now()` time). */
  dueAt: number;
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (err: Error) => void;
}

/** The JSON a stream answers a publish with. */
interface AckReply {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate?: boolean;
  readonly domain?: string;
  readonly error?: ApiError;
}

/** A repeat with less time left than this would only add load. */
const MIN_ATTEMPT_MS = 100;
const decoder = new TextDecoder();

/**
 * Publishes to JetStream and resolves with the first ack of any attempt. While none has come, the
 * same message (same headers, so the same `Nats-Msg-Id`) is published again every `attemptMs`:
 * JetStream answers a repeat with the first store's seq, so an ack lost or late costs a repeat,
 * not a false error. Every attempt of a message has the same reply subject, so a late ack still
 * counts. At the deadline it does not give up at once: on a busy event loop the ack is often
 * already in the socket, unread, when the timer fires. It flushes the connection instead: the
 * server answers the PING after everything it sent before, so once the PONG is read, an ack the
 * server sent has been read too, and "not acknowledged" is the broker's doing, not the loop's.
 *
 * Built for many acks in flight on one connection: the acks of all messages come to one
 * subscription (`<inbox>.*`, the token names the message), each is parsed once, and one timer
 * serves every deadline. nats.js `js.publish` would instead make each message a request with its
 * own inbox entry, timer and promises, which was the largest cost of a message in the profile.
 * Errors are the ones `js.publish` gives (nats.js 2.29): no responders, the stream's API errors
 * with `api_error`, and what `publish` throws (closed connection, payload over the maximum).
 */
export class AckedPublisher {
  private readonly inbox = createInbox();
  /**
   * Awaiting an ack and the next attempt, in the order the attempts were scheduled: a Map keeps
   * insertion order and a repeat is moved to the end, so the due ones are always at the front.
   * (A last attempt, shorter than `attemptMs`, waits behind those scheduled before it: with a
   * timeout that is a multiple of `attemptMs`, as in `JetStreamHistory`, by the loop's own lateness.)
   */
  private readonly waiting = new Map<string, PendingAck>();
  /** Past their last attempt: awaiting an ack until the flush of their batch has come back. */
  private readonly flushing = new Map<string, PendingAck>();
  private nextToken = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timing: AckTiming,
  ) {
    // nats.js subscribes again after a reconnect, before it sends the publishes it buffered.
    nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => (err ? this.failAll(err) : this.onAck(msg)),
    });
  }

  /**
   * `headers` must carry the message's `Nats-Msg-Id`; they are reused by every attempt (and, as
   * `EncodedHeaders`, encoded only once).
   */
  publish(subject: string, data: Uint8Array, headers: MsgHdrs): Promise<PubAck> {
    return new Promise<PubAck>((resolve, reject) => {
      const now = performance.now();
      const token = (this.nextToken++).toString(36);
      const pending: PendingAck = {
        token,
        reply: `${this.inbox}.${token}`,
        subject,
        data,
        headers,
        deadline: now + this.timing.timeoutMs,
        dueAt: now,
        resolve,
        reject,
      };
      this.send(pending, now);
      this.arm();
    });
  }

  /** Publishes one attempt and schedules the next; a publish that throws rejects at once. */
  private send(pending: PendingAck, now: number): void {
    this.waiting.delete(pending.token);
    try {
      this.nc.publish(pending.subject, pending.data, {
        reply: pending.reply,
        headers: pending.headers,
      });
    } catch (err) {
      pending.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    pending.dueAt = now + Math.min(this.timing.attemptMs, pending.deadline - now);
    this.waiting.set(pending.token, pending);
  }

  private onAck(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const pending = this.waiting.get(token) ?? this.flushing.get(token);
    // Undefined for a second ack (a repeat's) or one after giving up: the first answer stands.
    if (pending === undefined) return;
    this.waiting.delete(token);
    this.flushing.delete(token);
    const ack = parseAck(msg);
    if (ack instanceof Error) pending.reject(ack);
    else pending.resolve(ack);
  }

  /** The ack subscription failed (a permissions violation): no ack can come. */
  private failAll(err: Error): void {
    for (const pending of [...this.waiting.values(), ...this.flushing.values()]) {
      pending.reject(err);
    }
    this.waiting.clear();
    this.flushing.clear();
  }

  /** One timer for all: armed for the first due attempt, run after the loop has read its I/O. */
  private arm(): void {
    if (this.timer !== undefined) return;
    const first = this.waiting.values().next();
    if (first.done) return;
    this.timer = setTimeout(
      // Timers run before the poll phase: an ack waiting in the socket is read first this way.
      () =>
        setImmediate(() => {
          this.timer = undefined;
          this.runDue();
        }),
      Math.max(0, first.value.dueAt - performance.now()),
    );
    // It outlives the last ack by up to `attemptMs`; the connection, not this timer, keeps a
    // process alive while messages are in flight.
    this.timer.unref();
  }

  private runDue(): void {
    const now = performance.now();
    const lastChance: PendingAck[] = [];
    for (const pending of this.waiting.values()) {
      if (pending.dueAt > now) break; // so are the ones behind it, repeats sent just now included
      if (pending.deadline - now >= MIN_ATTEMPT_MS) {
        this.send(pending, now);
      } else {
        this.waiting.delete(pending.token);
        this.flushing.set(pending.token, pending);
        lastChance.push(pending);
      }
    }
    if (lastChance.length > 0) this.giveUpAfterFlush(lastChance);
    this.arm();
  }

  /** One flush for all the messages whose deadline passed together. */
  private giveUpAfterFlush(batch: readonly PendingAck[]): void {
    const giveUp = (): void => {
      clearTimeout(bound);
      for (const pending of batch) {
        if (this.flushing.delete(pending.token)) {
          pending.reject(NatsError.errorForCode(ErrorCode.Timeout));
        }
      }
    };
    const bound = setTimeout(giveUp, this.timing.timeoutMs);
    this.nc.flush().then(giveUp, giveUp);
  }
}

/** The ack, or the error nats.js `js.publish` rejects with for this reply. */
function parseAck(msg: Msg): PubAck | Error {
  // An empty reply with status 503: nothing listens on the subject (no stream stores it).
  if (msg.data.length === 0 && msg.headers?.code === 503) {
    return NatsError.errorForCode(ErrorCode.NoResponders);
  }
  let ack: AckReply;
  try {
    ack = JSON.parse(decoder.decode(msg.data)) as AckReply;
  } catch (err) {
    return NatsError.errorForCode(ErrorCode.BadJson, err instanceof Error ? err : undefined);
  }
  if (ack.error && ack.error.code >= 300) return apiError(ack.error);
  if (ack.stream === '') return NatsError.errorForCode(ErrorCode.JetStreamInvalidAck);
  return {
    stream: ack.stream,
    seq: ack.seq,
    duplicate: ack.duplicate ?? false,
    domain: ack.domain,
  };
}

/**
 * As nats.js `checkJsErrorCode` makes it for a publish (its 404/408/409 codes are a consumer's,
 * never a publish ack's): callers read `api_error` (`err_code`, and `code` >= 500 is the broker's).
 */
function apiError(error: ApiError): NatsError {
  const description = (error.description ?? '').toLowerCase();
  const err =
    error.code === 503
      ? NatsError.errorForCode(ErrorCode.JetStreamNotEnabled, new Error(description))
      : new NatsError(description || ErrorCode.Unknown, String(error.code));
  err.api_error = error;
  return err;
}
