import { type JoinResult } from '@app/client';
import { ChildReplica } from '../child-replica';
import { type DeliveryReport, checkDelivery, waitForMarkers } from './delivery';
import { type Member, closeAll, joinAll, openFleet, openMember, spread, urlsFor } from './members';
import { Publisher, chatSendTakesKey } from './publisher';
import { startChildReplicas } from './replicas';
import { delay, progress, waitFor } from './waits';

// A scenario's rig (NATS + replicas), its members and publisher, and its final check.

/** The NATS a scenario runs on: one nats-server or a cluster. */
interface Nats {
  readonly url: string;
  stop(): Promise<void>;
}

/** What a spec's scenario runs on, filled in by `useRig`'s `beforeAll`. */
export class Rig<N extends Nats> {
  nats!: N;
  replicas: ChildReplica[] = [];
  /** Every SDK client opened on the rig, closed with it. */
  readonly members: Member[] = [];
}

/**
 * Starts NATS (with `startNats`) and the child replicas `ids` before the spec's tests, and closes
 * the members, the replicas and NATS after them, in that order.
 */
export function useRig<N extends Nats>(
  startNats: () => Promise<N>,
  ids: readonly string[],
  env: Record<string, string> = {},
): Rig<N> {
  const rig = new Rig<N>();
  beforeAll(async () => {
    rig.nats = await startNats();
    rig.replicas = await startChildReplicas(ids, rig.nats.url, env);
  });
  afterAll(async () => {
    await closeAll(rig.members);
    await Promise.all(rig.replicas.map((r) => r.close()));
    // Undefined when starting it failed.
    await rig.nats?.stop();
  });
  return rig;
}

export interface ScenarioOptions {
  /** Names the progress lines (`[failover:<scope> …]`) and the publisher's messages. */
  scope: string;
  /** Users are `<prefix>-user-<i>`, `<prefix>-publisher` and `<prefix>-late`. */
  prefix: string;
  clients: number;
  /** Client `i` joins `rooms[i % rooms.length]`; the publisher joins them all. */
  rooms: string[];
  /** Client `i`'s URLs; by default `urlsFor(i, <every replica>)`. */
  urlsOf?: (i: number) => string[];
  /** By default every replica's. */
  publisherUrls?: string[];
  joinTimeoutMs?: number;
}

/**
 * Opens the SDK clients and the publisher on the rig's replicas and joins them all; learns the
 * rooms' epoch and whether chat.send takes a key.
 */
export async function startScenario(
  rig: Rig<Nats>,
  options: ScenarioOptions,
): Promise<FailoverScenario> {
  const log = progress(options.scope);
  const urls = rig.replicas.map((r) => r.wsUrl);
  const { rooms } = options;
  const sender = openFleet(rig.members, {
    prefix: options.prefix,
    count: options.clients,
    roomsOf: (i) => [rooms[i % rooms.length]!],
    urlsOf: options.urlsOf ?? ((i) => urlsFor(i, urls)),
    publisher: { rooms, urls: options.publisherUrls ?? urls },
  });
  await joinAll(rig.members, options.joinTimeoutMs ?? 20_000);
  // Joined already: the SDK answers from what it has, without a request.
  const { epoch } = await sender.client.join(rooms[0]!);
  const idempotent = await chatSendTakesKey(sender.client, rooms[0]!);
  return new FailoverScenario(rig, options, log, sender, epoch, idempotent);
}

/** A running scenario: the steps every failover spec shares around its own fault. */
export class FailoverScenario {
  constructor(
    private readonly rig: Rig<Nats>,
    private readonly options: ScenarioOptions,
    readonly log: (line: string) => void,
    readonly sender: Member,
    /** The rooms' epoch when they were joined. */
    readonly epoch: string,
    /** Whether the publisher sends chat.send's idempotency key. */
    readonly idempotent: boolean,
  ) {}

  get members(): Member[] {
    return this.rig.members;
  }

  /** The opening line of a one-room scenario; `more` ends it. */
  logJoined(more = ''): void {
    const room = this.options.rooms[0];
    this.log(
      `${this.members.length} SDK clients joined ${room}: ${JSON.stringify(spread(this.members))}; key: ${this.idempotent}${more}`,
    );
  }

  /** Starts a publisher of `count` messages over the rooms, tagged with the scope. */
  publish(count: number, ratePerSecond: number): Publisher {
    const publisher = new Publisher(this.sender.client, {
      rooms: this.options.rooms,
      count,
      ratePerSecond,
      idempotent: this.idempotent,
      tag: this.options.scope,
    });
    publisher.start();
    return publisher;
  }

  /**
   * Waits for the publisher's last acknowledgement, sends the end markers and waits until every
   * member has them; resolves with how long that took after the markers were acknowledged.
   */
  async finishPublishing(publisher: Publisher, timeoutMs = 30_000): Promise<number> {
    await waitFor(
      'the publisher to finish',
      () => publisher.acked === publisher.total,
      timeoutMs,
      () => publisher.summary(),
    );
    await publisher.done;
    await publisher.finish(10_000);
    this.log(`publisher: ${publisher.summary()}`);
    const tookMs = await waitForMarkers(this.members, publisher, 20_000);
    // Anything out of place (a late repeat) would arrive right behind the marker.
    await delay(300);
    return tookMs;
  }

  /**
   * Opens one more member that joins the room from seq 0 of the opening epoch and gets the end
   * marker: the room's whole history read back. `join` may wrap the join (to retry it).
   */
  async readHistoryFromStart(
    publisher: Publisher,
    join: (attempt: () => Promise<JoinResult>) => Promise<JoinResult> = (attempt) => attempt(),
  ): Promise<void> {
    const room = this.options.rooms[0]!;
    const urls = this.rig.replicas.map((r) => r.wsUrl);
    const user = `${this.options.prefix}-late`;
    const late = openMember({ name: 'late-reader', user, rooms: [room], urls });
    this.members.push(late);
    const replay = await join(() => late.client.join(room, { seq: 0, epoch: this.epoch }));
    expect(replay).toMatchObject({ epoch: this.epoch, recovered: true });
    await waitForMarkers([late], publisher, 10_000);
  }

  /** Checks every member's delivery and logs it; `who` tells more about the members. */
  check(publisher: Publisher, who = ''): DeliveryReport {
    const report = checkDelivery(this.members, publisher);
    this.log(
      `checked ${this.members.length} clients${who}: ${eachHas(report, publisher)}; ` +
        `repeated bodies ${report.duplicateBodies}, unacknowledged ${report.unacknowledged}`,
    );
    return report;
  }

  /** How often each replica filled a live gap from history, counted in its output. */
  logGapFills(): void {
    const gapFills = this.rig.replicas.map(
      (r) => `${r.id} ${r.output.split('live gap filled from history').length - 1}`,
    );
    this.log(`live gaps filled from history (Nats-Last-Sequence): ${gapFills.join(', ')}`);
  }
}

/** One room: the count every member has; several: the share of each room, as sent. */
function eachHas(report: DeliveryReport, publisher: Publisher): string {
  const { rooms } = publisher.options;
  const count = publisher.total;
  return rooms.length === 1
    ? `${report.perRoom[rooms[0]!]} messages each`
    : `${count / rooms.length} messages per room and its marker each`;
}

/**
 * What every scenario ends with: no problem found, and every member of a room holds the room's
 * share of the messages (the specs send a whole number per room) and its marker; without a key,
 * also the bodies stored twice.
 */
export function expectDelivered(report: DeliveryReport, publisher: Publisher): void {
  expect(report.problems).toEqual([]);
  const { rooms, idempotent } = publisher.options;
  const count = publisher.total;
  if (idempotent) {
    for (const room of rooms) expect(report.perRoom[room]).toBe(count / rooms.length + 1);
  } else {
    const held = Object.values(report.perRoom).reduce((sum, n) => sum + n, 0);
    expect(held).toBe(count + rooms.length + report.duplicateBodies);
  }
}
