import { ClientError } from './errors';
import { RequestQueue, TokenBucket } from './request-queue';
import { byteLength, encodeRequest, serverError, type Reply } from './wire';

type Timer = ReturnType<typeof setTimeout>;

/** A request's data, read when its frame is written: a retried join carries the latest `since`. */
export type DataFn = () => Record<string, unknown>;

interface Outgoing {
  readonly ref: number;
  readonly event: string;
  readonly data: DataFn;
  /** Sent again on the next connection when the connection is lost before the reply. */
  readonly retry: boolean;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (error: ClientError) => void;
  timer?: Timer;
  /** When the server first answered `overloaded`: retries end `timeoutMs` after it. */
  overloadedAt?: number;
}

export interface OutboxSettings {
  queueSize: number;
  timeoutMs: number;
  perSecond: number;
  burst: number;
  maxFrameBytes: number;
}

/** The connection as the outbox sees it. */
export interface Wire {
  /** True while queued requests may go out: connected, and everything re-joined. */
  readonly live: boolean;
  /** Writes a frame on the current connection; false when there is none. */
  write(text: string): boolean;
}

/**
 * Requests from the call to the reply: a bounded queue while they cannot go out, pacing under the
 * server's rate limit, correlation by `ref`, and a timeout once written. A request cut off by a
 * lost connection is sent again (when it is safe to repeat) or rejected with `connection_lost`:
 * none is dropped silently.
 */
export class Outbox {
  private readonly queue: RequestQueue<Outgoing>;
  private readonly bucket: TokenBucket;
  private readonly inFlight = new Map<number, Outgoing>();
  /** Refused with `overloaded` (nothing stored), waiting for the server's `retryAfterMs`. */
  private readonly backingOff = new Map<Outgoing, Timer>();
  private nextRef = 1;
  private pumpTimer?: Timer;
  private closed = false;

  constructor(
    private readonly settings: OutboxSettings,
    private readonly wire: Wire,
    private readonly random: () => number = Math.random,
  ) {
    this.queue = new RequestQueue(settings.queueSize);
    this.bucket = new TokenBucket(settings.perSecond, settings.burst);
  }

  /** Queues a request; it goes out when the connection is live and the pace allows. */
  enqueue(event: string, data: DataFn, retry: boolean): Promise<Reply> {
    if (this.closed) {
      return Promise.reject(new ClientError('closed', 'the client is closed', { event }));
    }
    return new Promise<Reply>((resolve, reject) => {
      const item: Outgoing = { ref: this.nextRef++, event, data, retry, resolve, reject };
      if (!this.queue.push(item)) {
        reject(
          new ClientError(
            'queue_full',
            `${event} refused: ${this.queue.capacity} requests are already waiting to be sent`,
            { event },
          ),
        );
        return;
      }
      this.pump();
    });
  }

  /**
   * Writes a request at once, ahead of the queue, on the current connection: resumes must not wait
   * behind the requests that wait for them, nor a token refresh behind anything. Never retried.
   */
  sendNow(event: string, data: DataFn): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.bucket.force();
      this.write({ ref: this.nextRef++, event, data, retry: false, resolve, reject });
    });
  }

  /** Sends what the queue holds, as fast as the pace allows; call when the connection goes live. */
  pump(): void {
    if (!this.wire.live || this.pumpTimer !== undefined) return;
    while (this.queue.length > 0) {
      const wait = this.bucket.take();
      if (wait > 0) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, wait);
        return;
      }
      const item = this.queue.shift();
      if (item) this.write(item);
    }
  }

  /** Settles the request a `reply` or `error` answers; false when it answers none of ours. */
  settle(event: 'reply' | 'error', data: Record<string, unknown>): boolean {
    const ref = data.ref;
    if (typeof ref !== 'number' || ref >= this.nextRef) return false;
    const item = this.inFlight.get(ref);
    // No longer in flight: it timed out, and the caller has been told.
    if (!item) return true;
    this.inFlight.delete(ref);
    clearTimeout(item.timer);
    if (event === 'error') {
      const error = serverError(data, item.event);
      if (error.code === 'overloaded' && this.retryLater(item, data.retryAfterMs)) return true;
      item.reject(error);
    } else {
      const reply = { ...data };
      delete reply.ref;
      item.resolve(reply);
    }
    return true;
  }

  /**
   * The server stored nothing and said when to come back: a request safe to repeat goes back to the
   * front of the queue after `retryAfterMs` plus up to half of it again (refused clients must not
   * all return at once), with the same data (and so the same idempotency key). False when that
   * would take it more than `timeoutMs` past the first refusal: the caller gets `overloaded`.
   */
  private retryLater(item: Outgoing, retryAfterMs: unknown): boolean {
    if (!item.retry || typeof retryAfterMs !== 'number' || !(retryAfterMs >= 0)) return false;
    const delay = retryAfterMs * (1 + this.random() / 2);
    item.overloadedAt ??= Date.now();
    if (Date.now() - item.overloadedAt + delay >= this.settings.timeoutMs) return false;
    this.backingOff.set(
      item,
      setTimeout(() => {
        this.backingOff.delete(item);
        this.queue.requeue([item]);
        this.pump();
      }, delay),
    );
    return true;
  }

  /** The connection is gone: requests safe to repeat go back to the front of the queue. */
  disconnected(): void {
    this.stopPump();
    const retry: Outgoing[] = [];
    for (const item of this.inFlight.values()) {
      clearTimeout(item.timer);
      if (item.retry) retry.push(item);
      else
        item.reject(
          new ClientError(
            'connection_lost',
            `connection lost before the reply to ${item.event}: it may or may not have been applied`,
            { event: item.event },
          ),
        );
    }
    this.inFlight.clear();
    this.queue.requeue(retry);
  }

  /** Rejects everything, sent or not, with `error`; later requests reject with `closed`. */
  close(error: ClientError): void {
    this.closed = true;
    this.stopPump();
    for (const timer of this.backingOff.values()) clearTimeout(timer);
    const waiting = [...this.backingOff.keys()];
    this.backingOff.clear();
    for (const item of [...this.inFlight.values(), ...waiting, ...this.queue.drain()]) {
      clearTimeout(item.timer);
      item.reject(
        new ClientError(error.code, error.message, {
          event: item.event,
          closeCode: error.closeCode,
        }),
      );
    }
    this.inFlight.clear();
  }

  private stopPump(): void {
    if (this.pumpTimer !== undefined) clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
  }

  private write(item: Outgoing): void {
    let text: string;
    try {
      text = encodeRequest(item.event, item.data(), item.ref);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return item.reject(
        new ClientError('bad_request', `${item.event}: data is not JSON (${reason})`, {
          event: item.event,
          cause: error,
        }),
      );
    }
    const { maxFrameBytes, timeoutMs } = this.settings;
    const bytes = byteLength(text, maxFrameBytes);
    if (bytes > maxFrameBytes) {
      return item.reject(
        new ClientError(
          'message_too_big',
          `${item.event} is ${bytes} bytes, over the ${maxFrameBytes} the server accepts`,
          { event: item.event },
        ),
      );
    }
    this.inFlight.set(item.ref, item);
    item.timer = setTimeout(() => {
      if (!this.inFlight.delete(item.ref)) return;
      item.reject(
        new ClientError(
          'timeout',
          `no reply to ${item.event} within ${timeoutMs} ms: it may or may not have been applied`,
          { event: item.event },
        ),
      );
    }, timeoutMs);
    if (!this.wire.write(text)) {
      this.inFlight.delete(item.ref);
      clearTimeout(item.timer);
      item.reject(
        new ClientError('connection_lost', `not connected: ${item.event} was not sent`, {
          event: item.event,
        }),
      );
    }
  }
}
