/**
 * `npm run bench`: room fan-out and idle connections, ours (two replicas + NATS JetStream) against
 * a raw `ws` server, in one run on this machine. Needs `npm run build` first (it runs dist/).
 *
 *   npm run bench                 full run (~5 min), CPU profiles included
 *   npm run bench -- --no-profile skip the profiling pass
 *   npm run bench -- --quick      short windows and 2,000 idle connections (a smoke test)
 *   npm run bench -- --storm      only the resume storm: 10,000 clients of a killed replica
 *                                 reconnect to two survivors at once (--quick: 2,000)
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeProfile, type ProfileSummary } from './lib/cpu-profile';
import {
  FanoutSession,
  medianWindow,
  type FanoutPhase,
  type FanoutPhaseResult,
  type FanoutSettings,
} from './lib/fanout';
import { summarizeHeapProfile } from './lib/heap-profile';
import { runIdle, type IdleSettings } from './lib/idle';
import { sleep } from './lib/clock';
import { machineInfo, sourceState } from './lib/machine';
import { machineTicks, machineUsage } from './lib/proc-stats';
import { killAll } from './lib/processes';
import type { Auth } from './lib/protocol';
import * as report from './lib/report';
import { runStorm, type StormSettings } from './lib/storm';
import {
  snapshotProduct,
  RESULTS_DIR,
  startNats,
  startRawServer,
  startReplica,
} from './lib/servers';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const PROFILE = !argv.includes('--no-profile');
/** Only the idle-connection measurement (≈ 1 min): for work on memory per connection. */
const IDLE_ONLY = argv.includes('--idle-only');
/** Only the resume storm (≈ 1-2 min). */
const STORM_ONLY = argv.includes('--storm');
/** Everything is killed and the run fails past this, whatever state it is in. */
const HARD_TIMEOUT_MS = (QUICK ? 4 : 9) * 60_000;

const PHASES: FanoutPhase[] = [
  { name: '50 msg/s (50 k deliveries/s)', rate: 50 },
  { name: '100 msg/s (100 k deliveries/s)', rate: 100 },
  { name: 'max rate', rate: null },
];

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

const STORM: StormSettings = {
  clients: QUICK ? 2_000 : 10_000,
  processes: 2,
  roomSize: 10,
  concurrency: 200,
  maxMs: 120_000,
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
  if (STORM_ONLY) {
    const profileFile = join(RESULTS_DIR, 'profiles', `storm-${runId}.cpuprofile`);
    if (PROFILE) mkdirSync(join(RESULTS_DIR, 'profiles'), { recursive: true });
    const storm = await runStorm(settings, { ...STORM, ...(PROFILE && { profileFile }) }, log);
    if (PROFILE) console.log(`\n${report.profileTables(summarizeProfile(profileFile, 25), 25)}\n`);
    await nats.handle.stop();
    const file = join(RESULTS_DIR, `storm-${runId}.json`);
    const command = `npm run bench -- ${argv.join(' ')}`;
    writeFileSync(
      file,
      `${JSON.stringify({ startedAt: new Date(started).toISOString(), command, machine, product, backgroundLoadPct: background, settings: STORM, storm }, null, 2)}\n`,
    );
    log(`done; results in ${file}`);
    return;
  }
  const dir = join(RESULTS_DIR, 'profiles', runId);
  if (PROFILE) mkdirSync(dir, { recursive: true });

  const { fanout, profiles, profiledRuns, padTo } = IDLE_ONLY
    ? { fanout: [], profiles: [], profiledRuns: [], padTo: 0 }
    : await runFanout(settings, ours, raw, nats.pid, dir);

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
  const heapProfiles = [oursIdle, rawIdle].flatMap((r) =>
    r.heapProfileFile ? [summarizeHeapProfile(r.heapProfileFile, r.connections)] : [],
  );
  await nats.handle.stop();

  const idle = [oursIdle, rawIdle];
  const results: report.BenchResults = {
    startedAt: new Date(started).toISOString(),
    durationSec: (Date.now() - started) / 1000,
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    machine,
    product,
    backgroundLoadPct: background,
    settings: {
      phases: PHASES,
      repeats: REPEATS,
      fanout: { ...FANOUT, padTo },
      idle: IDLE,
      profileMeasureMs: PROFILE_MEASURE_MS,
    },
    fanout,
    idle,
    profiledRuns,
    ratios: report.ratios(fanout, idle),
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

interface FanoutOutcome {
  fanout: FanoutPhaseResult[];
  profiles: ProfileSummary[];
  profiledRuns: FanoutPhaseResult[];
  padTo: number;
}

/** Fan-out phases on two replicas of ours and on raw ws, then the optional profiling pass. */
async function runFanout(
  settings: { natsUrl: string; secret: string },
  ours: (prefix: string) => Auth,
  raw: () => Auth,
  brokerPid: number,
  dir: string,
): Promise<FanoutOutcome> {
  const [a, b, rawWs] = await Promise.all([
    startReplica('replica-a', settings),
    startReplica('replica-b', settings),
    startRawServer('raw-ws'),
  ]);
  log(
    'fan-out: ours = 2 replicas with 500 subscribers each, publisher on replica-a; raw = 1 process',
  );
  const oursSession = await FanoutSession.open(
    {
      kind: 'ours',
      publisherUrl: a.wsUrl,
      subscriberUrls: [a.wsUrl, b.wsUrl],
      servers: [a, b],
      brokerPid,
      auth: ours,
    },
    FANOUT.subscribersPerProcess,
    log,
  );
  const rawSession = await FanoutSession.open(
    {
      kind: 'raw',
      publisherUrl: rawWs.wsUrl,
      subscriberUrls: [rawWs.wsUrl, rawWs.wsUrl],
      servers: [rawWs],
      auth: raw,
    },
    FANOUT.subscribersPerProcess,
    log,
  );
  // Each phase runs REPEATS windows per server, alternating ours / raw, so that the machine's
  // background load (other people's builds and tests) hits both; the table shows medians.
  const fanout: FanoutPhaseResult[] = [];
  let padTo = 0;
  for (const phase of PHASES) {
    const windows: Record<'ours' | 'raw', FanoutPhaseResult[]> = { ours: [], raw: [] };
    for (let i = 0; i < REPEATS; i++) {
      await waitForQuiet(log);
      windows.ours.push(await oursSession.run(phase, FANOUT, log));
      // Same bytes per delivery for raw ws as for ours: its frames are padded to our mean size.
      padTo ||= Math.round(windows.ours[0]?.meanFrameBytes ?? 0);
      windows.raw.push(await rawSession.run(phase, { ...FANOUT, padTo }, log));
    }
    fanout.push(medianWindow(windows.ours), medianWindow(windows.raw));
  }

  const profiles: ProfileSummary[] = [];
  const profiledRuns: FanoutPhaseResult[] = [];
  if (PROFILE) {
    log(
      `profiling pass: V8 sampling profiler (${PROFILE_INTERVAL_US} µs) in each server over a max-rate window; not used for the figures`,
    );
    for (const [session, servers] of [
      [oursSession, [a, b]],
      [rawSession, [rawWs]],
    ] as const) {
      const files = servers.map((s) => join(dir, `${s.name}.cpuprofile`));
      const profiled = await session.run(
        { name: 'max rate (profiled)', rate: null },
        {
          ...FANOUT,
          padTo: session.target.kind === 'raw' ? padTo : 0,
          measureMs: PROFILE_MEASURE_MS,
          onWindowStart: () => all(servers.map((s) => s.profileStart(PROFILE_INTERVAL_US))),
          onWindowEnd: () => all(servers.map((s, i) => s.profileStop(files[i] ?? ''))),
        },
        log,
      );
      profiledRuns.push(profiled);
      profiles.push(...files.map((f) => summarizeProfile(f, 25)));
    }
  }
  await Promise.all([oursSession.close(), rawSession.close()]);
  await Promise.all([a.stop(), b.stop(), rawWs.stop()]);

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
