import { Logger } from '@nestjs/common';
import type { Relay, RelayMessage } from './relay';
import { subjectToken } from './subjects';

/** Two relays on one broker, as two replicas would be. */
export interface RelayPair {
  readonly a: Relay;
  readonly b: Relay;
  close(): Promise<void>;
}

const WAIT_MS = 5_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const text = (s: string, headers?: Record<string, string>): RelayMessage =>
  headers === undefined ? { data: encoder.encode(s) } : { data: encoder.encode(s), headers };

interface Received {
  text: string;
  subject: string;
  headers?: Record<string, string>;
}

/** Records what one subscription receives and lets a test await it with a bounded wait. */
export class Inbox {
  readonly received: Received[] = [];
  readonly unsubscribe: () => void;
  private wake: (() => void) | undefined;

  constructor(relay: Relay, subject: string) {
    this.unsubscribe = relay.subscribe(subject, (m, actual) => {
      this.received.push({
        text: decoder.decode(m.data),
        subject: actual,
        ...(m.headers === undefined ? {} : { headers: { ...m.headers } }),
      });
      this.wake?.();
    });
  }

  get texts(): string[] {
    return this.received.map((r) => r.text);
  }

  /** Resolves once `count` messages arrived; fails naming `what` after a bounded wait. */
  async waitFor(count: number, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`timed out waiting for ${what}: got ${this.received.length}/${count}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

let unique = 0;
/** A subject no other test uses, so leftovers of one test cannot satisfy another. */
export const freshSubject = (prefix: string): string => `${prefix}.t${++unique}`;

/**
 * Publishes a marker from `from` and waits until `to` receives it. A broker keeps one publisher's
 * messages in order for each subscriber, so anything `from` published earlier to `to` has arrived
 * by then: this proves that nothing else is coming without sleeping.
 */
export async function roundTrip(from: Relay, to: Relay): Promise<void> {
  const subject = freshSubject('marker');
  const marker = new Inbox(to, subject);
  await to.flush();
  await from.publishEphemeral(subject, text('marker'));
  await marker.waitFor(1, `the marker on ${subject}`);
  marker.unsubscribe();
}

/**
 * The behaviour every `Relay` must have, run against each implementation with two relays on one
 * broker. Implementation-specific cases live in each implementation's spec.
 */
export function describeRelayContract(name: string, makePair: () => Promise<RelayPair>): void {
  describe(`${name} (Relay contract)`, () => {
    let pair: RelayPair;
    let a: Relay;
    let b: Relay;

    beforeAll(async () => {
      pair = await makePair();
      ({ a, b } = pair);
    });

    afterAll(async () => {
      await pair.close();
    });

    afterEach(() => {
      jest.restoreAllMocks();
    });

    it('delivers a message published on one relay to subscribers on both relays', async () => {
      const subject = freshSubject('room');
      const onA = new Inbox(a, subject);
      const onB = new Inbox(b, subject);
      await Promise.all([a.flush(), b.flush()]);

      await a.publishEphemeral(subject, text('hello'));

      await onA.waitFor(1, 'the message on the publishing relay');
      await onB.waitFor(1, 'the message on the other relay');
      expect(onA.received).toEqual([{ text: 'hello', subject }]);
      expect(onB.received).toEqual([{ text: 'hello', subject }]);
    });

    it('keeps publish order for 500 messages', async () => {
      const subject = freshSubject('order');
      const inbox = new Inbox(b, subject);
      await b.flush();
      const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);

      await Promise.all(sent.map((s) => a.publishEphemeral(subject, text(s))));

      await inbox.waitFor(sent.length, '500 messages');
      expect(inbox.texts).toEqual(sent);
    });

    it('gives each message once to each of two handlers of one subject', async () => {
      const subject = freshSubject('twice');
      const first = new Inbox(b, subject);
      const second = new Inbox(b, subject);
      await b.flush();

      for (const s of ['x', 'y', 'z']) await a.publishEphemeral(subject, text(s));
      await roundTrip(a, b);

      expect(first.texts).toEqual(['x', 'y', 'z']);
      expect(second.texts).toEqual(['x', 'y', 'z']);
    });

    it('stops delivering to removed handlers, and to none after the last one is removed', async () => {
      const subject = freshSubject('leave');
      const first = new Inbox(b, subject);
      const second = new Inbox(b, subject);
      await b.flush();

      first.unsubscribe();
      await a.publishEphemeral(subject, text('one left'));
      await roundTrip(a, b);
      second.unsubscribe();
      await b.flush();
      await a.publishEphemeral(subject, text('none left'));
      await roundTrip(a, b);

      expect(first.texts).toEqual([]);
      expect(second.texts).toEqual(['one left']);
    });

    it('ignores a second call of an unsubscribe function', async () => {
      const subject = freshSubject('idempotent');
      const gone = new Inbox(b, subject);
      gone.unsubscribe();
      const kept = new Inbox(b, subject);
      await b.flush();

      gone.unsubscribe();
      await a.publishEphemeral(subject, text('still here'));

      await kept.waitFor(1, 'the message for the remaining handler');
      expect(kept.texts).toEqual(['still here']);
    });

    it('matches * to exactly one token and > to one or more trailing tokens', async () => {
      const base = freshSubject('wild');
      const star = new Inbox(b, `${base}.*.x`);
      const tail = new Inbox(b, `${base}.>`);
      await b.flush();

      for (const s of [`${base}.a.x`, `${base}.a.b.x`, `${base}.a.y`, base, `${base}x.a.x`]) {
        await a.publishEphemeral(s, text(s));
      }
      await roundTrip(a, b);

      expect(star.received).toEqual([{ text: `${base}.a.x`, subject: `${base}.a.x` }]);
      expect(tail.texts).toEqual([`${base}.a.x`, `${base}.a.b.x`, `${base}.a.y`]);
    });

    it('passes headers through and leaves them undefined when none were sent', async () => {
      const subject = freshSubject('headers');
      const inbox = new Inbox(b, subject);
      await b.flush();

      await a.publishEphemeral(
        subject,
        text('with', { 'X-Trace-Id': 'abc-1', 'Event-Kind': 'chat' }),
      );
      await a.publishEphemeral(subject, text('without'));

      await inbox.waitFor(2, 'two messages');
      expect(inbox.received).toEqual([
        { text: 'with', subject, headers: { 'X-Trace-Id': 'abc-1', 'Event-Kind': 'chat' } },
        { text: 'without', subject },
      ]);
    });

    it('keeps delivering after a handler throws, and logs each error once', async () => {
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      const subject = freshSubject('throws');
      const calls: string[] = [];
      b.subscribe(subject, (m) => {
        calls.push(decoder.decode(m.data));
        throw new Error('handler bug');
      });
      const healthy = new Inbox(b, subject);
      await b.flush();

      await a.publishEphemeral(subject, text('first'));
      await a.publishEphemeral(subject, text('second'));

      await healthy.waitFor(2, 'both messages at the healthy handler');
      expect(calls).toEqual(['first', 'second']);
      expect(logged).toHaveBeenCalledTimes(2);
      expect(logged).toHaveBeenCalledWith(expect.objectContaining({ subject }));
    });

    it('receives what the other relay publishes right after flush() resolves', async () => {
      const subject = freshSubject('flush');
      const inbox = new Inbox(a, subject);

      await a.flush();
      await b.publishEphemeral(subject, text('just after flush'));

      await inbox.waitFor(1, 'the message published after flush');
      expect(inbox.texts).toEqual(['just after flush']);
    });

    it('delivers an empty payload as an empty byte array', async () => {
      const subject = freshSubject('empty');
      const sizes: number[] = [];
      b.subscribe(subject, (m) => sizes.push(m.data.byteLength));
      await b.flush();

      await a.publishEphemeral(subject, { data: new Uint8Array(0) });
      await roundTrip(a, b);

      expect(sizes).toEqual([0]);
    });

    it('carries a subjectToken as one literal token, never as a wildcard', async () => {
      const base = freshSubject('token');
      const oneToken = new Inbox(b, `${base}.*`);
      await b.flush();

      const names = ['a.b', 'with space', '*', '>', ''];
      for (const n of names) await a.publishEphemeral(`${base}.${subjectToken(n)}`, text(n));

      await oneToken.waitFor(names.length, 'one message per encoded name');
      expect(oneToken.texts).toEqual(names);
    });

    it('rejects invalid subjects the same way', async () => {
      for (const subject of ['', 'a..b', 'a b', 'a.>.b', '.a', 'a.']) {
        expect(() => b.subscribe(subject, () => undefined)).toThrow(/invalid subscribe subject/);
      }
      for (const subject of ['room.*', 'room.>', 'a..b']) {
        await expect(a.publishEphemeral(subject, text('x'))).rejects.toThrow(
          /invalid publish subject/,
        );
      }
    });
  });
}
