import type { Relay, RelayMessage } from '@app/relay';
import { AppError } from '@app/core';
import { describeHistoryOlderPageContract } from './history-older-page.contract';
import type { HistoryOptions } from './history-options';
import type { HistoryStore, Replay } from './history-store';
import { LAST_SEQ_HEADER, liveSubject, SEQ_HEADER } from './subjects';

/** One history under test, with the relay its live messages go out on. */
export interface HistoryUnderTest {
  readonly store: HistoryStore;
  /** The relay a replica's channel layer subscribes to `liveSubject(channel)` on. */
  readonly relay: Relay;
  /**
   * Another replica's store on the same history. In memory one process is the only replica, so
   * this is the same store.
   */
  replica(): Promise<HistoryStore>;
  /**
   * Throws the history away, as an operator deleting the stream would, and resolves with the store
   * to use from then on (JetStream: the same one, which must notice; in memory: a restarted one).
   */
  reset(): Promise<HistoryStore>;
  close(): Promise<void>;
}

export type MakeHistory = (options: HistoryOptions) => Promise<HistoryUnderTest>;

/** Limits the cases start from; each case overrides what it exercises. */
export const CONTRACT_OPTIONS: HistoryOptions = {
  stream: 'RT_CONTRACT',
  maxMsgsPerChannel: 100,
  maxAgeMs: 60_000,
  replicas: 1,
  requestTimeoutMs: 2_000,
};

const WAIT_MS = 5_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (s: string): Uint8Array => encoder.encode(s);
const texts = (r: Replay): string[] => r.messages.map((m) => decoder.decode(m.data));
const seqs = (r: Replay): number[] => r.messages.map((m) => m.seq);

let unique = 0;
/** A channel no other case uses. */
export const freshChannel = (kind = 'room'): string => `${kind}.c${++unique}`;

/** Records the live messages of one channel and lets a case await them with a bounded wait. */
export class LiveInbox {
  readonly received: RelayMessage[] = [];
  readonly unsubscribe: () => void;
  private wake: (() => void) | undefined;

  constructor(relay: Relay, channel: string) {
    this.unsubscribe = relay.subscribe(liveSubject(channel), (m) => {
      this.received.push(m);
      this.wake?.();
    });
  }

  header(i: number, name: string): string | undefined {
    return this.received[i]?.headers?.[name];
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

/** Polls `check` until it returns true; fails naming `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Appends `count` messages `${prefix}1..n` one after another; resolves with their seqs. */
async function appendMany(
  store: HistoryStore,
  channel: string,
  count: number,
  prefix = 'm',
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 1; i <= count; i++)
    out.push((await store.publishStored(channel, bytes(`${prefix}${i}`))).seq);
  return out;
}

/**
 * The behaviour both `HistoryStore`s share, so single-replica mode behaves like the cluster.
 * `make` builds a fresh, empty history per case.
 */
export function describeHistoryContract(name: string, make: MakeHistory): void {
  describe(`${name} (HistoryStore contract)`, () => {
    let current: HistoryUnderTest | undefined;
    const open = async (overrides: Partial<HistoryOptions> = {}): Promise<HistoryUnderTest> => {
      current = await make({ ...CONTRACT_OPTIONS, ...overrides });
      return current;
    };
    afterEach(async () => {
      await current?.close();
      current = undefined;
    });

    it('increases seqs per channel, independently of other channels', async () => {
      const { store } = await open();
      const [a, b] = [freshChannel(), freshChannel()];
      const order = [a, b, a, a, b, a];
      const results: { channel: string; seq: number }[] = [];
      for (const [i, channel] of order.entries()) {
        results.push({ channel, seq: (await store.publishStored(channel, bytes(`x${i}`))).seq });
      }
      const seqsOf = (c: string): number[] =>
        results.filter((r) => r.channel === c).map((r) => r.seq);
      for (const c of [a, b]) {
        const s = seqsOf(c);
        expect(s).toEqual([...s].sort((x, y) => x - y));
        expect(new Set(s).size).toBe(s.length);
      }
      expect(new Set(results.map((r) => r.seq)).size).toBe(results.length);
      expect(texts(await store.replay(b, 0))).toEqual(['x1', 'x4']);
      expect(texts(await store.replay(a, 0))).toEqual(['x0', 'x2', 'x3', 'x5']);
    });

    it('relays each append live with its seq, the previous seq of the channel and its headers', async () => {
      const { store, relay } = await open();
      const [a, b] = [freshChannel(), freshChannel()];
      const inbox = new LiveInbox(relay, a);
      await relay.flush();
      const s1 = await store.publishStored(a, bytes('one'), { 'Rt-Origin': 'replica-1' });
      await store.publishStored(b, bytes('other channel'));
      const s2 = await store.publishStored(a, bytes('two'));
      await inbox.waitFor(2, `two live messages on ${a}`);
      inbox.unsubscribe();

      expect(inbox.received.map((m) => decoder.decode(m.data))).toEqual(['one', 'two']);
      expect(inbox.header(0, SEQ_HEADER)).toBe(String(s1.seq));
      expect(inbox.header(0, LAST_SEQ_HEADER)).toBe('0');
      expect(inbox.header(0, 'Rt-Origin')).toBe('replica-1');
      expect(inbox.header(1, SEQ_HEADER)).toBe(String(s2.seq));
      expect(inbox.header(1, LAST_SEQ_HEADER)).toBe(String(s1.seq));
    });

    it('reports the head: 0 for an empty channel, else its newest seq, with the epoch', async () => {
      const { store } = await open();
      const [a, b] = [freshChannel(), freshChannel()];
      const empty = await store.head(a);
      expect(empty.seq).toBe(0);
      expect(empty.epoch).toEqual(expect.any(String));
      expect(empty.epoch.length).toBeGreaterThan(0);
      const [, second] = await appendMany(store, a, 2);
      await store.publishStored(b, bytes('later, elsewhere'));
      expect(await store.head(a)).toEqual({ seq: second, epoch: empty.epoch });
    });

    it('replays exactly the messages after since, in order, with their headers', async () => {
      const { store } = await open();
      const [a, b] = [freshChannel(), freshChannel()];
      const seqA: number[] = [];
      for (let i = 1; i <= 6; i++) {
        seqA.push((await store.publishStored(a, bytes(`a${i}`), { n: String(i) })).seq);
        await store.publishStored(b, bytes(`b${i}`));
      }
      const since = seqA[2] ?? -1;
      const r = await store.replay(a, since);
      expect(texts(r)).toEqual(['a4', 'a5', 'a6']);
      expect(seqs(r)).toEqual(seqA.slice(3));
      expect(r.messages.map((m) => m.headers)).toEqual([{ n: '4' }, { n: '5' }, { n: '6' }]);
      expect(r.seq).toBe(seqA[5]);
      expect(r.recovered).toBe(true);
      expect(r.epoch).toBe((await store.head(a)).epoch);

      const all = await store.replay(a, 0);
      expect(seqs(all)).toEqual(seqA);
      expect(all.recovered).toBe(true);

      const upToDate = await store.replay(a, seqA[5] ?? -1);
      expect(upToDate.messages).toEqual([]);
      expect(upToDate.seq).toBe(seqA[5]);
      expect(upToDate.recovered).toBe(true);
    });

    it('replays a long backlog completely, and from the middle of it', async () => {
      const { store } = await open();
      const a = freshChannel();
      const seqA = await appendMany(store, a, 40);
      expect(seqs(await store.replay(a, 0))).toEqual(seqA);
      const fromMiddle = await store.replay(a, seqA[9] ?? -1);
      expect(seqs(fromMiddle)).toEqual(seqA.slice(10));
      expect(texts(fromMiddle)[0]).toBe('m11');
      expect(fromMiddle.recovered).toBe(true);
    });

    it('is recovered when since falls between the seqs of a channel under its limit', async () => {
      const { store } = await open({ maxMsgsPerChannel: 5 });
      const [a, b] = [freshChannel(), freshChannel()];
      const a1 = (await store.publishStored(a, bytes('a1'))).seq;
      const b1 = (await store.publishStored(b, bytes('b1'))).seq;
      const a2 = (await store.publishStored(a, bytes('a2'))).seq;
      expect(a1).toBeLessThan(b1);
      expect(b1).toBeLessThan(a2);
      const r = await store.replay(a, b1);
      expect(texts(r)).toEqual(['a2']);
      expect(r.recovered).toBe(true);
    });

    it('is not recovered once the count limit removed messages after since', async () => {
      const { store } = await open({ maxMsgsPerChannel: 5 });
      const [a, b] = [freshChannel(), freshChannel()];
      const seqA: number[] = [];
      const seqB: number[] = [];
      for (let i = 1; i <= 8; i++) {
        seqA.push((await store.publishStored(a, bytes(`a${i}`))).seq);
        if (i % 2 === 0) seqB.push((await store.publishStored(b, bytes(`b${i}`))).seq);
      }
      const first = await store.replay(a, seqA[0] ?? -1);
      expect(texts(first)).toEqual(['a4', 'a5', 'a6', 'a7', 'a8']);
      expect(first.recovered).toBe(false);
      expect((await store.replay(a, 0)).recovered).toBe(false);

      const fromOldestKept = await store.replay(a, seqA[3] ?? -1);
      expect(texts(fromOldestKept)).toEqual(['a5', 'a6', 'a7', 'a8']);
      expect(fromOldestKept.recovered).toBe(true);

      // The other channel lost nothing: resuming after its first message is recovered. (From 0,
      // JetStream cannot tell that b never had a message before b2, so that is left unasserted.)
      const other = await store.replay(b, seqB[0] ?? -1);
      expect(texts(other)).toEqual(['b4', 'b6', 'b8']);
      expect(other.recovered).toBe(true);
    });

    it('is not recovered with another epoch, but still returns the messages after since', async () => {
      const { store } = await open();
      const a = freshChannel();
      const [s1] = await appendMany(store, a, 3);
      const { epoch } = await store.head(a);
      const r = await store.replay(a, s1 ?? -1, `not-${epoch}`);
      expect(r.recovered).toBe(false);
      expect(r.epoch).toBe(epoch);
      expect(texts(r)).toEqual(['m2', 'm3']);
      expect((await store.replay(a, s1 ?? -1, epoch)).recovered).toBe(true);
    });

    it('is not recovered for a since beyond the end of history', async () => {
      const { store } = await open();
      const a = freshChannel();
      const [, last] = await appendMany(store, a, 2);
      const r = await store.replay(a, (last ?? 0) + 1000);
      expect(r.messages).toEqual([]);
      expect(r.seq).toBe(last);
      expect(r.recovered).toBe(false);
    });

    it('removes messages by age and then says what was lost', async () => {
      const { store, relay } = await open({ maxAgeMs: 1_000, maxMsgsPerChannel: 5 });
      const a = freshChannel();
      const [s1, s2] = await appendMany(store, a, 2);
      await eventually('the messages to expire', async () => {
        return (await store.replay(a, 0)).messages.length === 0;
      });
      const fromStart = await store.replay(a, 0);
      expect(fromStart.recovered).toBe(false);
      expect((await store.replay(a, s1 ?? -1)).recovered).toBe(false);
      expect((await store.replay(a, s2 ?? -1)).recovered).toBe(true);
      expect((await store.head(a)).seq).toBe(0);

      // The channel goes on; its first new message has no kept predecessor.
      const inbox = new LiveInbox(relay, a);
      await relay.flush();
      const s3 = (await store.publishStored(a, bytes('after'))).seq;
      await inbox.waitFor(1, 'the live message after expiry');
      inbox.unsubscribe();
      expect(inbox.header(0, LAST_SEQ_HEADER)).toBe('0');
      const after = await store.replay(a, s2 ?? -1);
      expect(seqs(after)).toEqual([s3]);
      expect(after.recovered).toBe(true);
    }, 20_000);

    it('stores and relays a repeated msgID once and answers with the first seq', async () => {
      const { store, relay } = await open();
      const a = freshChannel();
      const inbox = new LiveInbox(relay, a);
      await relay.flush();
      const first = await store.publishStored(a, bytes('once'), undefined, { msgID: 'push-1' });
      const again = await store.publishStored(a, bytes('once'), undefined, { msgID: 'push-1' });
      expect(first.duplicate).toBe(false);
      expect(again).toEqual({ seq: first.seq, duplicate: true });
      // Live messages of a channel arrive in order: once this one is in, a duplicate would be too.
      const marker = await store.publishStored(a, bytes('marker'), undefined, { msgID: 'push-2' });
      await inbox.waitFor(2, 'the first message and the marker');
      inbox.unsubscribe();
      expect(inbox.received.map((m) => decoder.decode(m.data))).toEqual(['once', 'marker']);
      expect(texts(await store.replay(a, 0))).toEqual(['once', 'marker']);
      expect(marker.seq).toBeGreaterThan(first.seq);
    });

    it('gives 200 appends in flight at once distinct seqs, in order per channel', async () => {
      const { store } = await open({ maxMsgsPerChannel: 1_000 });
      const channels = [freshChannel(), freshChannel(), freshChannel(), freshChannel()];
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => {
          const channel = channels[i % channels.length] ?? 'unreachable';
          return store.publishStored(channel, bytes(`p${i}`)).then((r) => ({ channel, ...r }));
        }),
      );
      expect(new Set(results.map((r) => r.seq)).size).toBe(200);
      for (const channel of channels) {
        const replayed = await store.replay(channel, 0);
        const appended = results.filter((r) => r.channel === channel).map((r) => r.seq);
        expect(seqs(replayed)).toEqual([...appended].sort((x, y) => x - y));
      }
    });

    it('reads a backlog in pages bounded in messages and bytes: together every message once, in order', async () => {
      const { store } = await open({ replayPageMessages: 7, replayPageBytes: 2_000 });
      const a = freshChannel();
      const big = 'b'.repeat(600);
      const appended: number[] = [];
      for (let i = 0; i < 30; i++) {
        const body = i % 3 === 0 ? `${big}${i}` : `s${i}`;
        appended.push((await store.publishStored(a, bytes(body))).seq);
      }
      // One message larger than a whole page still makes progress: a page of its own.
      appended.push((await store.publishStored(a, bytes('h'.repeat(5_000)))).seq);
      const pages: Replay[] = [];
      let since = 0;
      for (let page = await store.replay(a, since); ; page = await store.replay(a, since)) {
        pages.push(page);
        expect(page.recovered).toBe(true);
        if (!page.more) break;
        expect(page.messages.length).toBeGreaterThan(0);
        since = page.seq;
      }
      expect(pages.flatMap(seqs)).toEqual(appended);
      for (const page of pages) {
        expect(page.messages.length).toBeLessThanOrEqual(7);
        const size = page.messages.reduce((n, m) => n + m.data.byteLength, 0);
        if (page.messages.length > 1) expect(size).toBeLessThanOrEqual(2_000 + 610);
      }
      expect(pages.length).toBeGreaterThan(31 / 7);
      expect(pages.at(-1)?.seq).toBe(appended.at(-1));
    });

    it('ends a page at the channel end with more: false, and reads on once more is stored', async () => {
      const { store } = await open({ replayPageMessages: 5 });
      const a = freshChannel();
      const seqA = await appendMany(store, a, 5);
      const full = await store.replay(a, 0);
      expect(seqs(full)).toEqual(seqA);
      const end = await store.replay(a, full.seq);
      expect(end).toMatchObject({ messages: [], more: false, seq: seqA[4] });
      const [later] = await appendMany(store, a, 1, 'late');
      expect(seqs(await store.replay(a, full.seq))).toEqual([later]);
    });

    it('answers identical concurrent replays alike, each with its own array', async () => {
      const { store } = await open();
      const a = freshChannel();
      const seqA = await appendMany(store, a, 12);
      const replays = await Promise.all(Array.from({ length: 20 }, () => store.replay(a, 2)));
      for (const r of replays) {
        expect(seqs(r)).toEqual(seqA.filter((s) => s > 2));
        expect(r.recovered).toBe(true);
      }
      replays[0]?.messages.pop();
      expect(replays[1]?.messages.length).toBe(seqA.filter((s) => s > 2).length);
    });

    it('keeps one epoch across replicas and a new one once the history is reset', async () => {
      const h = await open();
      const a = freshChannel();
      const [s1] = await appendMany(h.store, a, 2);
      const before = await h.store.head(a);
      const other = await h.replica();
      expect((await other.head(a)).epoch).toBe(before.epoch);
      expect(seqs(await other.replay(a, 0))).toEqual(seqs(await h.store.replay(a, 0)));

      const store = await h.reset();
      const fresh = await store.head(a);
      expect(fresh.seq).toBe(0);
      expect(fresh.epoch).not.toBe(before.epoch);
      const gone = await store.replay(a, s1 ?? -1, before.epoch);
      expect(gone.recovered).toBe(false);
      expect(gone.epoch).toBe(fresh.epoch);
      await store.publishStored(a, bytes('new history'));
      expect(texts(await store.replay(a, 0, fresh.epoch))).toEqual(['new history']);
    });

    it('rejects a since that is not an integer >= 0 as bad_request', async () => {
      const { store } = await open();
      for (const since of [-1, 1.5, Number.NaN]) {
        await expect(store.replay(freshChannel(), since)).rejects.toMatchObject({
          constructor: AppError,
          code: 'bad_request',
        });
      }
    });

    describeHistoryOlderPageContract(make);
  });
}
