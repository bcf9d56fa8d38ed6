import { startNatsServer } from '@app/testing';
import type { ChildReplica } from '../../support/child-replica';
import {
  countBy,
  cpuMeter,
  expectDelivered,
  memoryOf,
  natsServerPid,
  openFilesLimit,
  replicaOf,
  resumeBreakdown,
  spread,
  startScenario,
  useRig,
  waitFor,
  type Member,
} from '../../support/failover';

/**
 * 4e. Three replicas of the build on one nats-server. 2,000 SDK clients (in this jest process, each
 * a full `@app/client` with `ws`, default options), all connected to replica a, 50 per room in 40
 * rooms; a publisher on replica b sends 1,000 messages round-robin over the rooms. At the 200th
 * acknowledged message, a is killed (SIGKILL): its 2,000 clients come back at once on b and c
 * (each client's URL list is [a, b, c] or [a, c, b]) and resume every room from their last seq.
 */
const CLIENTS = 2000;
const ROOMS = 40;
const MESSAGES = 1000;
const KILL_AT = 200;
const RATE = 200;
/** The bounds this suite asserts; docs/reliability.md gives the figures measured against them. */
const RESUME_BOUND_MS = 20_000;
const RSS_BOUND_MB = 400;

describe('failover: reconnect storm of 2,000 clients of a killed replica', () => {
  const rig = useRig(startNatsServer, ['storm-a', 'storm-b', 'storm-c']);

  it(`every client resumes on the others within ${RESUME_BOUND_MS} ms, no replica above ${RSS_BOUND_MB} MB, nothing lost`, async () => {
    // This process holds one socket per client, and replica a as many: both need the descriptors.
    const nofile = openFilesLimit().soft;
    expect(nofile).toBeGreaterThanOrEqual(CLIENTS + 1024);
    const [a, b, c] = rig.replicas as [ChildReplica, ChildReplica, ChildReplica];
    const rooms = Array.from({ length: ROOMS }, (_, i) => `storm-${i}`);

    const joinStarted = Date.now();
    const s = await startScenario(rig, {
      scope: 'storm',
      prefix: 'storm',
      clients: CLIENTS,
      rooms,
      urlsOf: (i) => (i % 2 === 0 ? [a.wsUrl, b.wsUrl, c.wsUrl] : [a.wsUrl, c.wsUrl, b.wsUrl]),
      publisherUrls: [b.wsUrl, c.wsUrl],
      joinTimeoutMs: 60_000,
    });
    const fleet = s.members.filter((m) => m !== s.sender);
    expect(spread(fleet)).toEqual({ [a.id]: CLIENTS });
    const before = rig.replicas.map((r) => ({ id: r.id, ...memoryOf(r.pid) }));
    s.log(
      `ulimit -n ${nofile}; ${CLIENTS} SDK clients joined ${ROOMS} rooms on ${a.id} in ${Date.now() - joinStarted} ms; ` +
        `RSS before: ${before.map((m) => `${m.id} ${m.rssMb?.toFixed(0)} MB`).join(', ')}; key: ${s.idempotent}`,
    );

    const publisher = s.publish(MESSAGES, RATE);
    await publisher.waitForAcks(KILL_AT, 20_000);

    // Peak RSS of the survivors, sampled, besides the kernel's high-water mark.
    const sampled = new Map<string, number>();
    const sampler = setInterval(() => {
      for (const r of [b, c]) {
        const rss = memoryOf(r.pid)?.rssMb ?? 0;
        sampled.set(r.id, Math.max(sampled.get(r.id) ?? 0, rss));
      }
    }, 100);

    const cpu = cpuMeter({
      [b.id]: b.pid,
      [c.id]: c.pid,
      'nats-server': natsServerPid(rig.nats.port),
    });
    const killedAt = Date.now();
    await a.kill();
    s.log(`SIGKILL ${a.id} with ${CLIENTS} clients, at ${publisher.acked} acknowledged`);
    const survivors = new Set([b.id, c.id]);
    const resumed = (m: Member): boolean =>
      m.client.state === 'live' && survivors.has(replicaOf(m) ?? '') && m.liveAt > killedAt;
    await waitFor(
      `all ${CLIENTS} clients live again on ${b.id} or ${c.id}`,
      () => fleet.every(resumed),
      RESUME_BOUND_MS,
      () =>
        `${fleet.filter(resumed).length} resumed; states ${JSON.stringify(countBy(fleet, (m) => m.client.state))}; ` +
        `spread ${JSON.stringify(spread(fleet))}`,
      20,
    );
    // From the kill to the last client's `live` (its re-join answered).
    const allResumedMs = Math.max(...fleet.map((m) => m.liveAt)) - killedAt;
    const cpuUsed = cpu.stop();
    clearInterval(sampler);
    const after = [b, c].map((r) => ({ id: r.id, ...memoryOf(r.pid) }));
    s.log(
      `all ${CLIENTS} resumed within ${allResumedMs} ms of the kill; spread ${JSON.stringify(spread(fleet))}; ` +
        `client errors ${JSON.stringify(errorsOf(fleet))}`,
    );
    s.log(resumeBreakdown(fleet, killedAt));
    s.log(
      `survivors: ${after
        .map(
          (m) =>
            `${m.id} RSS ${m.rssMb?.toFixed(0)} MB, peak sampled ${sampled.get(m.id)?.toFixed(0)} MB, VmHWM ${m.peakMb?.toFixed(0)} MB`,
        )
        .join('; ')}; ${cpuUsed}`,
    );
    // Every client left a for another replica.
    expect(fleet.every((m) => m.replicas.length >= 2 && m.replicas[0] === a.id)).toBe(true);
    expect(allResumedMs).toBeLessThanOrEqual(RESUME_BOUND_MS);
    for (const m of after) expect(m.peakMb).toBeLessThanOrEqual(RSS_BOUND_MB);
    // Both survivors took a share.
    expect(spread(fleet)[b.id]).toBeGreaterThan(CLIENTS / 4);
    expect(spread(fleet)[c.id]).toBeGreaterThan(CLIENTS / 4);

    await s.finishPublishing(publisher);
    expectDelivered(s.check(publisher), publisher);
  }, 150_000);
});

function errorsOf(members: readonly Member[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const m of members) {
    for (const [code, n] of m.errors) total[code] = (total[code] ?? 0) + n;
  }
  return total;
}
