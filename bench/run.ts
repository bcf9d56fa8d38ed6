/**
 * `npm run bench`: one room of 1,000, 100 rooms of 10, direct messages between 1,000 users, and
 * idle connections, ours (two replicas + NATS JetStream) against a lean raw `ws` server given the
 * same workload, in one run on this machine. Needs `npm run build` first (it runs dist/).
 *
 *   npm run bench                       full run (~9 min), CPU profiles included
 *   npm run bench -- --no-profile       skip the profiling passes
 *   npm run bench -- --quick            one short window per phase, 2,000 idle connections
 *   npm run bench -- --phase small-rooms,dms   only these groups (big-room, small-rooms, dms, idle)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeProfile, type ProfileSummary } from './lib/cpu-profile';
import { ChatSession, type ChatLoad, type ChatSettings, type ChatTarget } from './lib/chat-session';
import {
  FanoutSession,
  medianWindow,
  type FanoutPhase,
  type FanoutPhaseResult,
  type FanoutSettings,
  type FanoutTarget,
} from './lib/fanout';
import { summarizeHeapProfile } from './lib/heap-profile';
import { runIdle, type IdleResult, type IdleSettings } from './lib/idle';
import { sleep } from './lib/clock';
import { machineInfo, sourceState } from './lib/machine';
import { machineTicks, machineUsage } from './lib/proc-stats';
import { killAll } from './lib/processes';
import type { Auth } from './lib/protocol';
import * as report from './lib/report';
import {
  snapshotProduct,
  RESULTS_DIR,
  type Server,
  startNats,
  startRawServer,
  startReplica,
} from './lib/servers';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = !argv.includes('--no-profile');

const GROUP_NAMES = ['big-room', 'small-rooms', 'dms', 'idle'] as const;
type GroupName = (typeof GROUP_NAMES)[number];
/** `--phase a,b` runs only those groups; `--idle-only` is `--phase idle`. */
const SELECTED = selectedGroups();
/** Everything is killed and the run fails past this, whatever state it is in. */
const HARD_TIMEOUT_MS = (QUICK ? 6 : 15) * 60_000;

const GROUPS: Record<Exclude<GroupName, 'idle'>, FanoutPhase[]> = {
  'big-room': [
    {
      name: 'room of 1,000 @ 50 msg/s (50 k deliveries/s)',
      rate: 50,
      targets: { cpu: 1.15, p99: 2 },
    },
    { name: 'room of 1,000 @ 100 msg/s (100 k deliveries/s)', rate: 100, targets: { cpu: 1.15 } },
    { name: 'room of 1,000 @ max rate', rate: null, targets: { cpu: 1.15 } },
  ],
  'small-rooms': [
    { name: '100 rooms × 10 @ 1,000 msg/s (10 k deliveries/s)', rate: 1_000, targets: { p99: 3 } },
    {
      name: '100 rooms × 10 @ max rate',
      rate: null,
      targets: { throughput: 0.8, cpuWithNats: 2 },
    },
  ],
  dms: [{ name: 'DMs among 1,000 users @ max rate', rate: null, targets: { throughput: 0.5 } }],
};

function selectedGroups(): Set<GroupName> {
  if (argv.includes('--idle-only')) return new Set(['idle']);
  const at = argv.indexOf('--phase');
  if (at < 0) return new Set(GROUP_NAMES);
  const names = (argv[at + 1] ?? '').split(',');
  for (const name of names) {
    if (!(GROUP_NAMES as readonly string[]).includes(name)) {
      throw new Error(`--phase takes some of ${GROUP_NAMES.join(', ')}; got "${name}"`);
    }
  }
  return new Set(names as GroupName[]);
}

/** Chatters: 2 processes × 500 users, sockets alternating over the two replicas. */
const CHAT_PROCESSES = 2;
const CHAT_USERS_PER_PROCESS = 500;
const CHAT_MAX_RATE_WINDOW = 100;

const FANOUT: FanoutSettings = {
  subscribersPerProcess: 500,
  warmupMs: QUICK ? 1_000 : 2_000,
  measureMs: QUICK ? 3_000 : 6_000,
  maxRateWindow: 32,
  padTo: 0,
};

const IDLE: IdleSettings = {
  connections: QUICK ? 2_000 : 10_000,
  processes: 2,
  concurrency: 100,
  warmupConnections: 200,
  settleMs: QUICK ? 2_000 : 5_000,
  samples: 5,
};

/** Measured windows per server and phase (alternating), summarized by their medians. */
const REPEATS = QUICK ? 1 : 3;
/** A window with more than this % of the machine busy outside the benchmark is flagged noisy. */
const NOISY_PCT = 20;

/** Before a pair, wait up to this long (and this long in all) for the machine to be quiet. */
const QUIET_WAIT_MS = 10_000;
let quietBudgetMs = 30_000;

const PROFILE_MEASURE_MS = QUICK ? 3_000 : 6_000;
const PROFILE_INTERVAL_US = 500;

const started = Date.now();

async function all(tasks: Promise<unknown>[]): Promise<void> {
  await Promise.all(tasks);
}
function log(line: string): void {
  console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
}

/** Waits, within the budget, until one second passes with the machine under NOISY_PCT busy. */
async function waitForQuiet(log: (line: string) => void): Promise<void> {
  const start = Date.now();
  const until = start + Math.min(QUIET_WAIT_MS, quietBudgetMs);
  let busy: number | undefined;
  while (Date.now() < until) {
    const before = machineTicks();
    await sleep(1000);
    busy = machineUsage(before, machineTicks()).busy;
    if (busy < NOISY_PCT) break;
  }
  quietBudgetMs -= Date.now() - start;
  if (busy !== undefined && busy >= NOISY_PCT) {
    log(`  machine still ${busy.toFixed(0)} % busy before the phase; going on`);
  }
}

async function main(): Promise<void> {
  const product = { ...sourceState(), distBuiltAt: (await snapshotProduct()).toISOString() };
  log(
    `product: dist/ built ${product.distBuiltAt} (copied aside), tree at ${product.commit} with ${product.dirtyFiles} uncommitted files`,
  );
  const runId = new Date(started).toISOString().replace(/[:.]/g, '-');
  mkdirSync(RESULTS_DIR, { recursive: true });
  const machine = machineInfo();
  log(
    `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, ${machine.natsServer}, kernel ${machine.kernel}, open files ${machine.openFiles.soft}/${machine.openFiles.hard}`,
  );

  const quiet = machineTicks();
  await sleep(2000);
  const background = machineUsage(quiet, machineTicks()).busy;
  log(
    `background load before the run: ${background.toFixed(0)} % of the machine${background > 10 ? ' (NOT quiet: other processes will skew the figures)' : ''}`,
  );

  const secret = randomBytes(32).toString('hex');
  const ours = (prefix: string): Auth => ({ secret, userPrefix: prefix });
  const raw = (): Auth => null;
  const nats = await startNats();
  log(
    `nats-server ${nats.handle.url} (pid ${nats.pid}, JetStream store ${nats.handle.storeDir ?? '-'})`,
  );
  const settings = { natsUrl: nats.handle.url, secret };
  const dir = join(RESULTS_DIR, 'profiles', runId);
  if (PROFILE) mkdirSync(dir, { recursive: true });

  const fanout: FanoutPhaseResult[] = [];
  const profiles: ProfileSummary[] = [];
  const profiledRuns: FanoutPhaseResult[] = [];
  const padTo: Record<string, number> = {};
  for (const group of ['big-room', 'small-rooms', 'dms'] as const) {
    if (!SELECTED.has(group)) continue;
    const outcome = await runGroup(group, settings, ours, raw, nats.pid, dir);
    fanout.push(...outcome.fanout);
    profiles.push(...outcome.profiles);
    profiledRuns.push(...outcome.profiledRuns);
    Object.assign(padTo, outcome.padTo);
  }
  const idle = SELECTED.has('idle') ? await runIdleBoth(settings, ours, raw, dir) : [];
  await nats.handle.stop();
  const heapProfiles = idle.flatMap((r) =>
    r.heapProfileFile ? [summarizeHeapProfile(r.heapProfileFile, r.connections)] : [],
  );

  const phases = Object.values(GROUPS).flat();
  const results: report.BenchResults = {
    startedAt: new Date(started).toISOString(),
    durationSec: (Date.now() - started) / 1000,
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    machine,
    product,
    backgroundLoadPct: background,
    settings: {
      groups: [...SELECTED],
      phases,
      repeats: REPEATS,
      fanout: FANOUT,
      chat: {
        processes: CHAT_PROCESSES,
        usersPerProcess: CHAT_USERS_PER_PROCESS,
        maxRateWindow: CHAT_MAX_RATE_WINDOW,
      },
      padTo,
      idle: IDLE,
      profileMeasureMs: PROFILE_MEASURE_MS,
    },
    fanout,
    idle,
    profiledRuns,
    ratios: report.ratios(phases, fanout, idle),
    profiles,
    heapProfiles,
  };
  const file = join(RESULTS_DIR, `bench-${runId}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);

  console.log(
    `\n${report.fanoutTable(fanout)}\n\n${report.idleTable(idle)}\n\n${report.ratioTable(results.ratios)}\n`,
  );
  for (const p of profiles) console.log(`${report.profileTables(p)}\n`);
  for (const h of heapProfiles) console.log(`${report.heapTables(h)}\n`);
  log(`done in ${results.durationSec.toFixed(0)} s; results in ${file}`);
}

/** Idle connections on one fresh server each: ours (one replica), then raw. */
async function runIdleBoth(
  settings: { natsUrl: string; secret: string },
  ours: (prefix: string) => Auth,
  raw: () => Auth,
  dir: string,
): Promise<IdleResult[]> {
  log(`idle connections: ${IDLE.connections.toLocaleString('en-US')} on one fresh server each`);
  const idleReplica = await startReplica('replica-idle', settings);
  const heapFile = (name: string): Partial<IdleSettings> =>
    PROFILE ? { heapProfileFile: join(dir, `${name}.heapprofile`) } : {};
  const oursIdle = await runIdle(
    'ours',
    idleReplica,
    ours,
    { ...IDLE, ...heapFile('replica-idle') },
    log,
  );
  await idleReplica.stop();
  const idleRaw = await startRawServer('raw-idle');
  const rawIdle = await runIdle('raw', idleRaw, raw, { ...IDLE, ...heapFile('raw-idle') }, log);
  await idleRaw.stop();
  return [oursIdle, rawIdle];
}

interface GroupOutcome {
  fanout: FanoutPhaseResult[];
  profiles: ProfileSummary[];
  profiledRuns: FanoutPhaseResult[];
  /** The size raw frames were padded to, by phase. */
  padTo: Record<string, number>;
}

/** One side of a group: connected once, then run window after window. */
interface Side {
  kind: 'ours' | 'raw';
  servers: Server[];
  run(phase: FanoutPhase, padTo: number, hooks?: WindowHooks): Promise<FanoutPhaseResult>;
  close(): Promise<void>;
}

interface WindowHooks {
  measureMs: number;
  onWindowStart: () => Promise<void>;
  onWindowEnd: () => Promise<void>;
}

/** A connected session as a side; closing it stops its servers too. */
function side(
  target: { kind: 'ours' | 'raw'; servers: Server[] },
  session: { close(): Promise<void> },
  run: Side['run'],
): Side {
  return {
    kind: target.kind,
    servers: target.servers,
    run,
    close: async () => {
      await session.close();
      await Promise.all(target.servers.map((s) => s.stop()));
    },
  };
}

/** Fresh servers for one group: ours = 2 replicas on the shared NATS, raw = 1 process. */
async function openSides(
  group: Exclude<GroupName, 'idle'>,
  settings: { natsUrl: string; secret: string },
  ours: (prefix: string) => Auth,
  raw: () => Auth,
  brokerPid: number,
): Promise<[Side, Side]> {
  const [a, b, rawWs] = await Promise.all([
    startReplica(`replica-a-${group}`, settings),
    startReplica(`replica-b-${group}`, settings),
    startRawServer(`raw-ws-${group}`),
  ]);
  const oursTarget = { kind: 'ours' as const, servers: [a, b], brokerPid, auth: ours };
  const rawTarget = { kind: 'raw' as const, servers: [rawWs], auth: raw };
  if (group === 'big-room') {
    log(
      'room of 1,000: ours = 2 replicas with 500 subscribers each, publisher on replica-a; raw = 1 process',
    );
    const open = async (target: FanoutTarget): Promise<Side> => {
      const session = await FanoutSession.open(target, FANOUT.subscribersPerProcess, log);
      return side(target, session, (phase, padTo, hooks) =>
        session.run(phase, { ...FANOUT, padTo, ...hooks }, log),
      );
    };
    return [
      await open({ ...oursTarget, publisherUrl: a.wsUrl, subscriberUrls: [a.wsUrl, b.wsUrl] }),
      await open({
        ...rawTarget,
        publisherUrl: rawWs.wsUrl,
        subscriberUrls: [rawWs.wsUrl, rawWs.wsUrl],
      }),
    ];
  }
  const load: ChatLoad = {
    mode: group === 'small-rooms' ? 'rooms' : 'dms',
    processes: CHAT_PROCESSES,
    usersPerProcess: CHAT_USERS_PER_PROCESS,
    roomSize: 10,
  };
  log(
    `${group}: ${CHAT_PROCESSES * CHAT_USERS_PER_PROCESS} users in ${CHAT_PROCESSES} processes sending to each other; ours = 2 replicas (each user's sockets alternate), raw = 1 process`,
  );
  const open = async (target: ChatTarget): Promise<Side> => {
    const session = await ChatSession.open(target, load, log);
    const chat: ChatSettings = { ...FANOUT, maxRateWindow: CHAT_MAX_RATE_WINDOW };
    return side(target, session, (phase, padTo, hooks) =>
      session.run(phase, { ...chat, padTo, ...hooks }, log),
    );
  };
  return [
    await open({ ...oursTarget, urls: [a.wsUrl, b.wsUrl] }),
    await open({ ...rawTarget, urls: [rawWs.wsUrl, rawWs.wsUrl] }),
  ];
}

/** A group's phases on ours and raw ws, then the optional profiling pass at max rate. */
async function runGroup(
  group: Exclude<GroupName, 'idle'>,
  settings: { natsUrl: string; secret: string },
  ours: (prefix: string) => Auth,
  raw: () => Auth,
  brokerPid: number,
  dir: string,
): Promise<GroupOutcome> {
  const [oursSide, rawSide] = await openSides(group, settings, ours, raw, brokerPid);
  // Each phase runs REPEATS windows per server, alternating ours / raw, so that the machine's
  // background load (other people's builds and tests) hits both; the table shows medians.
  const fanout: FanoutPhaseResult[] = [];
  const padTo: Record<string, number> = {};
  for (const phase of GROUPS[group]) {
    const windows: Record<'ours' | 'raw', FanoutPhaseResult[]> = { ours: [], raw: [] };
    for (let i = 0; i < REPEATS; i++) {
      await waitForQuiet(log);
      windows.ours.push(await oursSide.run(phase, 0));
      // Same bytes per delivery for raw ws as for ours: its frames are padded to our mean size.
      padTo[phase.name] ||= Math.round(windows.ours[0]?.meanFrameBytes ?? 0);
      windows.raw.push(await rawSide.run(phase, padTo[phase.name] ?? 0));
    }
    fanout.push(medianWindow(windows.ours), medianWindow(windows.raw));
  }

  const profiles: ProfileSummary[] = [];
  const profiledRuns: FanoutPhaseResult[] = [];
  const maxRate = GROUPS[group].find((p) => p.rate === null);
  if (PROFILE && maxRate) {
    log(
      `profiling pass: V8 sampling profiler (${PROFILE_INTERVAL_US} µs) in each server over a ${maxRate.name} window; not used for the figures`,
    );
    for (const side of [oursSide, rawSide]) {
      const files = side.servers.map((s) => join(dir, `${s.name}.cpuprofile`));
      const profiled = await side.run(
        { name: `${maxRate.name} (profiled)`, rate: null },
        side.kind === 'raw' ? (padTo[maxRate.name] ?? 0) : 0,
        {
          measureMs: PROFILE_MEASURE_MS,
          onWindowStart: () => all(side.servers.map((s) => s.profileStart(PROFILE_INTERVAL_US))),
          onWindowEnd: () => all(side.servers.map((s, i) => s.profileStop(files[i] ?? ''))),
        },
      );
      profiledRuns.push(profiled);
      profiles.push(...files.map((f) => summarizeProfile(f, 25)));
    }
  }
  await Promise.all([oursSide.close(), rawSide.close()]);
  return { fanout, profiles, profiledRuns, padTo };
}

const hardTimeout = setTimeout(() => {
  console.error(`bench: hard timeout after ${HARD_TIMEOUT_MS / 1000} s, killing everything`);
  killAll();
  process.exit(2);
}, HARD_TIMEOUT_MS);
hardTimeout.unref();

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

main().then(
  () => {
    clearTimeout(hardTimeout);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    killAll();
    process.exit(1);
  },
);
