import { ClientError, type RealtimeClient } from '@app/client';
import { delay, waitFor } from './waits';

// A publisher that sends until acknowledged, counting failures by code.

export interface PublisherOptions {
  /** Message `n` (from 1) goes to `rooms[(n - 1) % rooms.length]`. */
  rooms: readonly string[];
  count: number;
  /** Sends are paced to this rate (one at a time, each awaited). */
  ratePerSecond: number;
  /** Sends `key` with each message (chat.send's idempotency key): a retry is stored once. */
  idempotent: boolean;
  /** Names this publisher's messages: bodies are `{p: tag, n}`, keys `${tag}-${n}`. */
  tag: string;
  /** One message is given up (and the publisher fails) after this long. Default 30 s. */
  messageTimeoutMs?: number;
}

export interface Ack {
  n: number;
  room: string;
  id: string;
  seq: number;
  attempts: number;
  /** When the reply came (ms since epoch). */
  at: number;
}

/** Failure codes after which the message may have been stored all the same. */
const MAYBE_STORED = new Set(['connection_lost', 'timeout', 'unavailable', 'internal']);

/**
 * Sends `count` chat messages, each until acknowledged (`{id, seq}` came back): at-least-once from
 * the publisher's side. A send that fails is repeated (with the same key when `idempotent`) after
 * a short pause; failures are counted by code.
 */
export class Publisher {
  readonly acks = new Map<number, Ack>();
  readonly failures = new Map<string, number>();
  /** Counters `n` with at least one failed attempt that may have been stored anyway. */
  readonly uncertain = new Set<number>();
  /** Markers sent after the run, one per room (see `finish`). */
  readonly markers = new Map<string, Ack>();
  attempts = 0;
  /** The longest time between two acknowledgements (a stall seen by the sender). */
  maxGapMs = 0;
  private lastAckAt = 0;
  private running?: Promise<void>;
  private failed?: Error;
  private startedAt = 0;
  /** The last message this publisher sends: `count`, or fewer once stopped. */
  private last: number;

  constructor(
    readonly client: RealtimeClient,
    readonly options: PublisherOptions,
  ) {
    this.last = options.count;
  }

  get acked(): number {
    return this.acks.size;
  }

  /** How many messages this publisher sends in all. */
  get total(): number {
    return this.last;
  }

  /**
   * Sends no message after the one in flight: a test that must publish for as long as something
   * lasts (a roll) stops the publisher when it ends, instead of guessing a count that outlasts it.
   */
  stop(): void {
    this.last = Math.min(this.last, this.acked + 1);
  }

  /** Starts sending in the background; `done` settles when all are acknowledged (or one failed). */
  start(): void {
    this.startedAt = Date.now();
    this.lastAckAt = this.startedAt;
    this.running = this.run();
    // Observed by `done`; this keeps an early failure from being an unhandled rejection.
    this.running.catch(() => undefined);
  }

  get done(): Promise<void> {
    if (!this.running) throw new Error('publisher not started');
    return this.running;
  }

  /** Resolves once `n` messages are acknowledged (or rejects, naming it, past `timeoutMs`). */
  async waitForAcks(n: number, timeoutMs: number): Promise<void> {
    await waitFor(
      `${n} acknowledged messages from publisher ${this.options.tag}`,
      () => {
        if (this.failed) throw this.failed;
        return this.acked >= n;
      },
      timeoutMs,
      () =>
        `${this.acked} acknowledged; failures ${JSON.stringify(Object.fromEntries(this.failures))}`,
    );
  }

  /**
   * Sends one marker per room after every message was acknowledged: a member that has a room's
   * marker has everything stored before it (messages arrive in seq order).
   */
  async finish(timeoutMs: number): Promise<void> {
    for (const room of this.options.rooms) {
      const ack = await this.sendUntilAcked(
        room,
        { p: this.options.tag, end: true },
        `end-${room}`,
        0,
        Date.now() + timeoutMs,
      );
      this.markers.set(room, ack);
    }
  }

  /** The failures by code, and how many messages were repeated after an uncertain failure. */
  summary(): string {
    const failures = Object.fromEntries(this.failures);
    const elapsed = ((Date.now() - this.startedAt) / 1000).toFixed(1);
    return (
      `${this.acked}/${this.total} acknowledged in ${this.attempts} attempts (${elapsed} s); ` +
      `failures ${JSON.stringify(failures)}; repeated after an uncertain failure: ${this.uncertain.size}; ` +
      `longest wait between acknowledgements ${this.maxGapMs} ms`
    );
  }

  private async run(): Promise<void> {
    const { count, ratePerSecond, rooms } = this.options;
    const interval = 1000 / ratePerSecond;
    try {
      for (let n = 1; n <= Math.min(count, this.last); n++) {
        const due = this.startedAt + (n - 1) * interval;
        if (due > Date.now()) await delay(due - Date.now());
        const room = rooms[(n - 1) % rooms.length] ?? '';
        const deadline = Date.now() + (this.options.messageTimeoutMs ?? 30_000);
        const ack = await this.sendUntilAcked(
          room,
          { p: this.options.tag, n },
          String(n),
          n,
          deadline,
        );
        this.acks.set(n, ack);
        const now = Date.now();
        this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAckAt);
        this.lastAckAt = now;
      }
    } catch (error) {
      this.failed = error as Error;
      throw error;
    }
  }

  private async sendUntilAcked(
    room: string,
    body: Record<string, unknown>,
    key: string,
    n: number,
    deadline: number,
  ): Promise<Ack> {
    let lastError: ClientError | undefined;
    for (let attempt = 1; ; attempt++) {
      if (Date.now() > deadline) {
        throw new Error(
          `publisher ${this.options.tag}: message ${key} to ${room} not acknowledged in time; ` +
            `last error ${lastError?.code}: ${lastError?.message}; ${this.summary()}`,
        );
      }
      this.attempts++;
      try {
        const data = {
          room,
          body,
          ...(this.options.idempotent && { key: `${this.options.tag}-${key}` }),
        };
        const reply = await this.client.request('chat.send', data);
        if (typeof reply.id !== 'string' || typeof reply.seq !== 'number') {
          throw new Error(`chat.send replied ${JSON.stringify(reply)}`);
        }
        return { n, room, id: reply.id, seq: reply.seq, attempts: attempt, at: Date.now() };
      } catch (error) {
        if (!(error instanceof ClientError)) throw error;
        if (error.code === 'closed') throw error;
        lastError = error;
        this.failures.set(error.code, (this.failures.get(error.code) ?? 0) + 1);
        if (MAYBE_STORED.has(error.code)) this.uncertain.add(n);
        // connection_lost: the request waits in the SDK's queue until the next connection is live.
        if (error.code !== 'connection_lost') await delay(100);
      }
    }
  }
}

/**
 * Whether the publisher sends chat.send's idempotency `key`: when the server takes it (refused as an
 * unknown field otherwise; one probe message, without the publisher's tag, goes to `room`), unless
 * `FAILOVER_KEY=off` asks for the plain at-least-once publisher (repeats may be stored twice).
 */
export async function chatSendTakesKey(client: RealtimeClient, room: string): Promise<boolean> {
  if (process.env.FAILOVER_KEY === 'off') return false;
  try {
    await client.request('chat.send', { room, body: { probe: true }, key: `probe-${Date.now()}` });
    return true;
  } catch (error) {
    if (error instanceof ClientError && error.code === 'bad_request') return false;
    throw error;
  }
}
