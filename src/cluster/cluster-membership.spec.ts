import {
  InMemoryBus,
  InMemoryRelay,
  type RelayHandler,
  type RelayMessage,
  type RelayState,
} from '@app/relay';
import { loadConfig } from '../config';
import { ClusterMembership } from './cluster-membership';
import { ClusterPublisher } from './cluster-publisher';
import type { ReplicaStats } from './cluster.messages';
import type { ReplicaStatsReader } from './replica-stats';

const BEAT_MS = 1000;

/** A replica's broker connection: it can be lost and come back, or go silent with its process. */
class TestRelay extends InMemoryRelay {
  private current: RelayState = 'connected';
  private silent = false;
  private readonly comebacks = new Set<() => void>();
  override get state(): RelayState {
    return this.current;
  }
  override onReconnected(listener: () => void): () => void {
    this.comebacks.add(listener);
    return () => this.comebacks.delete(listener);
  }
  override publishEphemeral(subject: string, message: RelayMessage): Promise<void> {
    if (this.current !== 'connected') return Promise.reject(new Error('broker away'));
    return this.silent ? Promise.resolve() : super.publishEphemeral(subject, message);
  }
  override subscribe(subject: string, onMessage: RelayHandler): () => void {
    return super.subscribe(subject, (m, s) => {
      if (this.current === 'connected' && !this.silent) onMessage(m, s);
    });
  }
  /** The process died: nothing more from it, no goodbye. */
  kill(): void {
    this.silent = true;
  }
  lose(): void {
    this.current = 'reconnecting';
  }
  restore(): void {
    this.current = 'connected';
    for (const listener of this.comebacks) listener();
  }
}

interface Member {
  sut: ClusterMembership;
  relay: TestRelay;
  gone: string[];
}

describe(ClusterMembership.name, () => {
  let bus: InMemoryBus;
  let members: Member[];

  beforeEach(() => {
    // The in-memory bus delivers in microtasks: those stay real.
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick'] });
    bus = new InMemoryBus();
    members = [];
  });
  afterEach(async () => {
    for (const { sut } of members) await sut.onApplicationShutdown();
    jest.useRealTimers();
  });

  function member(replica: string, stats?: ReplicaStats): Member {
    const relay = new TestRelay(bus);
    const reader = { read: () => Promise.resolve(stats) } as unknown as ReplicaStatsReader;
    const config = loadConfig({ REPLICA_ID: replica, PRESENCE_HEARTBEAT_MS: String(BEAT_MS) });
    const sut = new ClusterMembership(relay, new ClusterPublisher(relay), reader, config);
    const created: Member = { sut, relay, gone: [] };
    sut.onGone((instance) => created.gone.push(instance));
    sut.onModuleInit();
    members.push(created);
    return created;
  }

  /** Lets `ms` pass, heartbeats and their deliveries included. */
  const pass = (ms: number) => jest.advanceTimersByTimeAsync(ms);

  it('lists every live replica, itself first, with the figures of its last heartbeat', async () => {
    const stats = { connections: 3, channels: 2, framesIn: 10, framesOut: 20, deliveries: 30 };
    const a = member('a');
    const b = member('b', stats);
    await pass(BEAT_MS);
    const seen = await a.sut.members();
    expect(seen.map(({ replica, self }) => ({ replica, self }))).toEqual([
      { replica: 'a', self: true },
      { replica: 'b', self: false },
    ]);
    expect(seen[1]).toMatchObject({ instance: b.sut.instance, stats });
    expect(a.sut.others()).toEqual([b.sut.instance]);
  });

  it('drops a replica that says goodbye at once, and a silent one within a few beats', async () => {
    const a = member('a');
    const b = member('b');
    const c = member('c');
    await pass(BEAT_MS);
    await b.sut.onApplicationShutdown();
    await pass(0);
    expect(a.gone).toEqual([b.sut.instance]);

    c.relay.kill();
    await pass(2 * BEAT_MS);
    expect(a.gone).toEqual([b.sut.instance]);
    await pass(2 * BEAT_MS);
    expect(a.gone).toEqual([b.sut.instance, c.sut.instance]);
    expect((await a.sut.members()).map((m) => m.replica)).toEqual(['a']);
  });

  it('drops nobody while the broker is away, and gives everyone a fresh window when it is back', async () => {
    const a = member('a');
    const b = member('b');
    await pass(BEAT_MS);
    a.relay.lose();
    await pass(10 * BEAT_MS);
    expect(a.gone).toEqual([]);

    b.relay.kill(); // died meanwhile: dropped three beats after the comeback, not at once
    a.relay.restore();
    await pass(BEAT_MS);
    expect(a.gone).toEqual([]);
    await pass(3 * BEAT_MS);
    expect(a.gone).toEqual([b.sut.instance]);
  });

  it('asks a replica it had dropped, once heard again, to publish its rooms again', async () => {
    const a = member('a');
    const b = member('b');
    let republished = 0;
    a.sut.trackRooms(
      () => 1,
      () => undefined,
    );
    b.sut.trackRooms(
      () => 1,
      () => republished++,
    );
    await pass(BEAT_MS);
    // A first contact counts as being heard again: B was asked once already.
    expect(republished).toBe(1);
    republished = 0;
    await pass(2 * BEAT_MS);
    expect(republished).toBe(0);

    // A partition: each side drops the other, then hears it again.
    a.relay.lose();
    b.relay.lose();
    a.relay.restore();
    await pass(5 * BEAT_MS);
    expect(a.gone).toEqual([b.sut.instance]);
    b.relay.restore();
    await pass(BEAT_MS);
    expect(republished).toBeGreaterThan(0);
  });
});
