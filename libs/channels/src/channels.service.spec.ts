import type { AddressInfo } from 'node:net';
import { InMemoryHistory, type HistoryStore } from '@app/history';
import { InMemoryRelay, type RelayHandler, type RelayState } from '@app/relay';
import { AppError } from '@app/core';
import { Connection } from '@app/ws';
import { TEST_HISTORY_OPTIONS } from '@app/testing';
import { WebSocket, WebSocketServer } from 'ws';
import { ChannelsService } from './channels.service';

// The channels carry any stored event of the protocol's map: these specs publish their own.
declare module '@app/protocol' {
  interface ServerEvents {
    'test.message': { id: string; seq: number; ts: number; body: unknown };
    'test.direct': { id: string; seq: number; ts: number; body: unknown };
  }
}

/** Counts live broker subscriptions: a real in-memory relay, observed. */
class CountingRelay extends InMemoryRelay {
  active = 0;
  override subscribe(subject: string, onMessage: RelayHandler): () => void {
    this.active++;
    const off = super.subscribe(subject, onMessage);
    return () => {
      this.active--;
      off();
    };
  }
}

/** Loses the next `drop` live deliveries, as core NATS does while a replica reconnects. */
class LossyRelay extends CountingRelay {
  drop = 0;
  override subscribe(subject: string, onMessage: RelayHandler): () => void {
    return super.subscribe(subject, (message, s) => {
      if (this.drop > 0) this.drop--;
      else onMessage(message, s);
    });
  }
}

/** A lossy relay whose broker connection the test can drop and restore. */
class FlakyRelay extends LossyRelay {
  private current: RelayState = 'connected';
  private readonly listeners = new Set<(state: RelayState) => void>();
  private readonly comebacks = new Set<() => void>();
  override get state(): RelayState {
    return this.current;
  }
  override onStateChange(listener: (state: RelayState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  override onReconnected(listener: () => void): () => void {
    this.comebacks.add(listener);
    return () => this.comebacks.delete(listener);
  }
  set(state: RelayState): void {
    const back = state === 'connected' && this.current !== 'connected';
    this.current = state;
    for (const listener of this.listeners) listener(state);
    if (back) for (const listener of this.comebacks) listener();
  }
}

/** History whose reads can be made to fail, as a NATS outage does. */
class FailingHistory extends InMemoryHistory {
  failReads = false;
  override replay(channel: string, since: number, epoch?: string) {
    if (this.failReads) return Promise.reject(new AppError('unavailable', 'broker down'));
    return super.replay(channel, since, epoch);
  }
}

/** History whose reads can be held until released, as a slow broker holds them. */
class SlowReadHistory extends InMemoryHistory {
  private gate?: Promise<void>;
  release: () => void = () => undefined;
  holdReads(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  override async replay(channel: string, since: number, epoch?: string) {
    await this.gate;
    return super.replay(channel, since, epoch);
  }
}

/** History whose appends can be held in flight, as a publish is when the broker goes away. */
class StallingHistory extends InMemoryHistory {
  stall = false;
  override publishStored(...args: Parameters<InMemoryHistory['publishStored']>) {
    if (this.stall) return new Promise<never>(() => undefined);
    return super.publishStored(...args);
  }
}

/** History whose appends wait until the test opens the gate, as appends do on a busy broker. */
class GatedHistory extends InMemoryHistory {
  appends = 0;
  open: () => void = () => undefined;
  private readonly gate = new Promise<void>((resolve) => (this.open = resolve));
  override async publishStored(...args: Parameters<InMemoryHistory['publishStored']>) {
    this.appends++;
    await this.gate;
    return super.publishStored(...args);
  }
}

interface Peer {
  conn: Connection;
  client: WebSocket;
  seqs: number[];
  bodies: unknown[];
  closed: Promise<number>;
  /** Resolves once `count` messages have arrived. */
  received(count: number): Promise<void>;
}

describe(ChannelsService.name, () => {
  let server: WebSocketServer;
  let url: string;
  let relay: CountingRelay;
  let history: HistoryStore;
  let sut: ChannelsService;
  const peers: Peer[] = [];

  beforeAll(async () => {
    server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const peer of peers) peer.client.terminate();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    relay = new CountingRelay();
    history = new InMemoryHistory(relay, TEST_HISTORY_OPTIONS);
    sut = new ChannelsService(relay, history);
  });

  async function peer(maxBufferedBytes = 4 * 1024 * 1024, stallMs?: number): Promise<Peer> {
    const accepted = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
    const client = new WebSocket(url);
    const socket = await accepted;
    await new Promise((resolve) => client.once('open', resolve));
    const conn = new Connection(
      socket,
      { id: 'u', scopes: [] },
      { maxBufferedBytes, rate: { perSecond: 1e6, burst: 1e6 }, stallMs },
    );
    const seqs: number[] = [];
    const bodies: unknown[] = [];
    const waiters: Array<[number, () => void]> = [];
    client.on('message', (raw) => {
      const frame = JSON.parse((raw as Buffer).toString()) as {
        data: { seq: number; body: unknown };
      };
      seqs.push(frame.data.seq);
      bodies.push(frame.data.body);
      for (const [count, resolve] of waiters) if (seqs.length >= count) resolve();
    });
    const closed = new Promise<number>((resolve) => client.on('close', (code) => resolve(code)));
    const p: Peer = {
      conn,
      client,
      seqs,
      bodies,
      closed,
      received: (count) =>
        seqs.length >= count
          ? Promise.resolve()
          : new Promise((resolve) => waiters.push([count, resolve])),
    };
    peers.push(p);
    return p;
  }

  it('subscribes on the first local member and unsubscribes after the last', async () => {
    const [p1, p2] = [await peer(), await peer()];
    await sut.join(p1.conn, 'room.a');
    await sut.join(p2.conn, 'room.a');
    await sut.join(p2.conn, 'room.b');
    expect(relay.active).toBe(2);
    expect(sut.leave(p1.conn, 'room.a')).toBe(true);
    expect(relay.active).toBe(2);
    sut.leave(p2.conn, 'room.a');
    expect(relay.active).toBe(1);
    expect(sut.leave(p2.conn, 'room.a')).toBe(false);
    // Closing the socket leaves every channel it was in.
    p2.client.close();
    await p2.closed;
    await new Promise<void>((resolve) => p2.conn.onClose(resolve));
    expect(relay.active).toBe(0);
    expect(sut.channelCount).toBe(0);
  });

  it('delivers one frame per message to every member, with its seq and data', async () => {
    const [p1, p2] = [await peer(), await peer()];
    await sut.join(p1.conn, 'room.x');
    await sut.join(p2.conn, 'room.x');
    const sent = await sut.publish('room.x', 'test.message', { body: 'hi' });
    await Promise.all([p1.received(1), p2.received(1)]);
    expect(p1.seqs).toEqual([sent.seq]);
    expect(p2.bodies).toEqual(['hi']);
  });

  it('keeps a message from its origin connection', async () => {
    const [p1, p2] = [await peer(), await peer()];
    await sut.join(p1.conn, 'inbox.u');
    await sut.join(p2.conn, 'inbox.u');
    await sut.publish('inbox.u', 'test.direct', { body: 'mine' }, { origin: p1.conn });
    const marker = await sut.publish('inbox.u', 'test.direct', { body: 'marker' });
    await p1.received(1);
    expect(p1.seqs).toEqual([marker.seq]);
    await p2.received(2);
  });

  it('resumes without gap or duplicate while messages keep coming', async () => {
    const writer = (async () => {
      const seqs: number[] = [];
      for (let i = 0; i < 300; i++)
        seqs.push((await sut.publish('room.r', 'test.message', { body: i })).seq);
      return seqs;
    })();
    // Join mid-stream, from a seq in the past.
    const p = await peer();
    await new Promise((resolve) => setImmediate(resolve));
    const since = 20;
    const reply = await sut.join(p.conn, 'room.r', { since });
    const all = await writer;
    const expected = all.filter((seq) => seq > since);
    await p.received(expected.length);
    expect(reply.recovered).toBe(true);
    expect(p.seqs).toEqual(expected);
  });

  it('a second resume on the same connection sends only what it does not have', async () => {
    const p = await peer();
    const seqs: number[] = [];
    for (let i = 0; i < 10; i++)
      seqs.push((await sut.publish('room.s', 'test.message', { body: i })).seq);
    await sut.join(p.conn, 'room.s', { since: seqs[4] });
    await p.received(5);
    const again = await sut.join(p.conn, 'room.s', { since: seqs[1] });
    await p.received(8);
    expect(p.seqs).toEqual([...seqs.slice(5), ...seqs.slice(2, 5)]);
    expect(again.seq).toBe(seqs[9]);
    const next = await sut.publish('room.s', 'test.message', { body: 'live' });
    await p.received(9);
    expect(p.seqs.at(-1)).toBe(next.seq);
  });

  it('closes a socket that does not read with 1013 instead of buffering without bound', async () => {
    const slow = await peer(64 * 1024);
    const fast = await peer();
    await sut.join(slow.conn, 'room.big');
    await sut.join(fast.conn, 'room.big');
    slow.client.pause();
    const body = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 1000 && slow.conn.isOpen; i++)
      await sut.publish('room.big', 'test.message', { body });
    slow.client.resume();
    expect(await slow.closed).toBe(1013);
    expect(fast.conn.isOpen).toBe(true);
  });

  describe('with a backlog many times the socket bound', () => {
    const BOUND = 64 * 1024;
    const body = 'y'.repeat(2_000);
    let backlog: number[];

    beforeEach(async () => {
      history = new InMemoryHistory(relay, { ...TEST_HISTORY_OPTIONS, replayPageMessages: 10 });
      sut = new ChannelsService(relay, history);
      backlog = [];
      for (let i = 0; i < 300; i++)
        backlog.push((await sut.publish('room.long', 'test.message', { body })).seq);
    });

    it('streams it page by page to a client that reads: all of it, in order, then live', async () => {
      const p = await peer(BOUND);
      const reply = await sut.join(p.conn, 'room.long', { since: 0 });
      expect(reply).toMatchObject({ recovered: true, seq: backlog.at(-1) });
      const live = await sut.publish('room.long', 'test.message', { body: 'live' });
      await p.received(backlog.length + 1);
      expect(p.seqs).toEqual([...backlog, live.seq]);
      expect(p.conn.isOpen).toBe(true);
    });

    it('closes with 1013 a client whose live messages held during the replay pass the bound', async () => {
      const p = await peer(BOUND, 60_000);
      p.client.pause();
      const joined = sut.join(p.conn, 'room.long', { since: 0 }).catch(() => undefined);
      // The replay now waits for room; live messages meanwhile are held, up to the bound.
      for (let i = 0; i < 100 && p.conn.isOpen; i++)
        await sut.publish('room.long', 'test.message', { body });
      expect(p.conn.isOpen).toBe(false);
      p.client.resume();
      expect(await p.closed).toBe(1013);
      await joined;
      expect(p.seqs).toEqual(backlog.slice(0, p.seqs.length));
    });
  });

  it('follows live without reading history, then resumes only what it lacks', async () => {
    const p = await peer();
    const old = await sut.publish('inbox.f', 'test.direct', { body: 'old' });
    await sut.follow(p.conn, 'inbox.f');
    const live1 = await sut.publish('inbox.f', 'test.direct', { body: 'live1' });
    await p.received(1);
    const reply = await sut.join(p.conn, 'inbox.f', { since: 0 });
    await p.received(2);
    expect(p.seqs).toEqual([live1.seq, old.seq]);
    expect(reply.seq).toBe(live1.seq);
  });

  it('treats a since beyond the end of history as a reset: replays it all, then goes live', async () => {
    const p = await peer();
    const kept = await sut.publish('room.t', 'test.message', { body: 'kept' });
    const reply = await sut.join(p.conn, 'room.t', { since: kept.seq + 1000 });
    expect(reply).toMatchObject({ recovered: false, seq: kept.seq });
    const live = await sut.publish('room.t', 'test.message', { body: 'live' });
    await p.received(2);
    expect(p.seqs).toEqual([kept.seq, live.seq]);
  });

  it('fills a live gap from history: lost messages arrive in order before the next live one', async () => {
    const lossy = new LossyRelay();
    const store = new InMemoryHistory(lossy, TEST_HISTORY_OPTIONS);
    const service = new ChannelsService(lossy, store);
    const p = await peer();
    await service.join(p.conn, 'room.gap');
    const sent = [await service.publish('room.gap', 'test.message', { body: 1 })];
    await p.received(1);
    lossy.drop = 2;
    for (let i = 2; i <= 5; i++)
      sent.push(await service.publish('room.gap', 'test.message', { body: i }));
    await p.received(5);
    expect(p.seqs).toEqual(sent.map((m) => m.seq));
    expect(p.bodies).toEqual([1, 2, 3, 4, 5]);
  });

  describe('gaps in live delivery', () => {
    const options = TEST_HISTORY_OPTIONS;

    it('fills a gap in a room that was empty when joined', async () => {
      const relay = new FlakyRelay();
      const service = new ChannelsService(relay, new InMemoryHistory(relay, options));
      const p = await peer();
      await service.join(p.conn, 'room.empty');
      relay.drop = 1;
      const sent = [await service.publish('room.empty', 'test.message', { body: 1 })];
      sent.push(await service.publish('room.empty', 'test.message', { body: 2 }));
      await p.received(2);
      expect(p.seqs).toEqual(sent.map((m) => m.seq));
    });

    it('catches up after a broker outage: a lost last message arrives', async () => {
      const relay = new FlakyRelay();
      const service = new ChannelsService(relay, new InMemoryHistory(relay, options));
      const p = await peer();
      await service.join(p.conn, 'room.last');
      const first = await service.publish('room.last', 'test.message', { body: 1 });
      await p.received(1);
      relay.drop = 1;
      const lost = await service.publish('room.last', 'test.message', { body: 2 });
      relay.set('reconnecting');
      relay.set('connected');
      await p.received(2);
      expect(p.seqs).toEqual([first.seq, lost.seq]);
    });

    it('answers a publish in flight with unavailable as soon as the broker drops', async () => {
      const relay = new FlakyRelay();
      const history = new StallingHistory(relay, options);
      const service = new ChannelsService(relay, history);
      history.stall = true;
      const inFlight = service.publish('room.stall', 'test.message', { body: 1 });
      relay.set('reconnecting');
      await expect(inFlight).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining('may or may not be stored') as unknown,
      });
      // Once back, publishing works again, and nothing waits on the old connection state.
      relay.set('connected');
      history.stall = false;
      await expect(service.publish('room.stall', 'test.message', { body: 2 })).resolves.toEqual({
        id: expect.any(String) as unknown,
        seq: expect.any(Number) as unknown,
      });
    });

    it('bounds the live messages held while a gap is filled: past the bound, members resume (1013)', async () => {
      const relay = new FlakyRelay();
      const history = new SlowReadHistory(relay, options);
      const service = new ChannelsService(relay, history);
      const p = await peer(64 * 1024);
      await service.join(p.conn, 'room.held');
      await service.publish('room.held', 'test.message', { body: 1 });
      await p.received(1);
      history.holdReads();
      relay.drop = 1;
      await service.publish('room.held', 'test.message', { body: 2 });
      const body = 'z'.repeat(2_000);
      // The fill waits for history; live messages pile up behind it until the bound.
      for (let i = 0; i < 100 && p.conn.isOpen; i++)
        await service.publish('room.held', 'test.message', { body });
      expect(p.conn.isOpen).toBe(false);
      history.release();
      expect(await p.closed).toBe(1013);
      expect(p.bodies).toEqual([1]);
    });

    it('sends members to resume (1013) when history cannot be read to fill a gap', async () => {
      const relay = new FlakyRelay();
      const history = new FailingHistory(relay, options);
      const service = new ChannelsService(relay, history);
      const p = await peer();
      await service.join(p.conn, 'room.fail');
      await service.publish('room.fail', 'test.message', { body: 1 });
      await p.received(1);
      relay.drop = 1;
      await service.publish('room.fail', 'test.message', { body: 2 });
      history.failReads = true;
      await service.publish('room.fail', 'test.message', { body: 3 });
      expect(await p.closed).toBe(1013);
      expect(p.bodies).toEqual([1]);
    });
  });

  describe('admission', () => {
    const options = TEST_HISTORY_OPTIONS;

    function gated(publishMaxInflight: number) {
      const relay = new InMemoryRelay();
      const history = new GatedHistory(relay, options);
      return {
        history,
        service: new ChannelsService(relay, history, undefined, undefined, { publishMaxInflight }),
      };
    }

    it('refuses a publish past the appends in flight at once, with overloaded and nothing stored', async () => {
      const { history, service } = gated(2);
      const admitted = [1, 2].map((body) => service.publish('room.busy', 'test.message', { body }));
      await expect(service.publish('room.busy', 'test.message', { body: 3 })).rejects.toMatchObject(
        {
          code: 'overloaded',
          retryAfterMs: expect.any(Number) as unknown,
        },
      );
      expect(history.appends).toBe(2);
      history.open();
      const stored = await Promise.all(admitted);
      // Slots come back once answered: the next one is admitted.
      await expect(service.publish('room.busy', 'test.message', { body: 4 })).resolves.toEqual({
        id: expect.any(String) as unknown,
        seq: expect.any(Number) as unknown,
      });
      const replay = await history.replay('room.busy', 0);
      expect(replay.messages.map((m) => m.seq)).toEqual([...stored.map((p) => p.seq), replay.seq]);
    });

    it('admits a message for several channels whole or not at all', async () => {
      const { history, service } = gated(2);
      const first = service.publish('inbox.a', 'test.direct', { body: 1 });
      const both = service.publishAll(
        [{ channel: 'inbox.b' }, { channel: 'inbox.c' }],
        'test.direct',
        {
          body: 2,
        },
      );
      await expect(both).rejects.toMatchObject({ code: 'overloaded' });
      expect(history.appends).toBe(1);
      history.open();
      await first;
      const [b, c] = await service.publishAll(
        [{ channel: 'inbox.b' }, { channel: 'inbox.c' }],
        'test.direct',
        {
          body: 2,
        },
      );
      expect(b!.id).toBe(c!.id);
    });
  });
});
