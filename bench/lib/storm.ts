import { monoUs } from './clock';
import { mergeHistograms, quantileMs } from './histogram';
import { listenCounters, machineTicks, machineUsage, rssKb } from './proc-stats';
import type { StormReport } from './protocol';
import { startReplica, type ReplicaSettings } from './servers';
import { LoadWorker } from './workers';

export interface StormSettings {
  clients: number;
  /** Load-generator processes the clients are spread over. */
  processes: number;
  /** Members per room (the rooms are resumed with `since`, so each resume reads history). */
  roomSize: number;
  /** Connections opened at once while the victim fills up (not during the storm). */
  concurrency: number;
  /** The storm fails past this. */
  maxMs: number;
  /** Where to write a CPU profile of the first survivor over the storm (optional). */
  profileFile?: string;
}

export interface StormResult {
  clients: number;
  resumed: number;
  failedAttempts: number;
  /** Kill → the last client's resume reply. */
  timeToAllLiveMs: number;
  resumeMs: { p50: number; p95: number; p99: number; max: number };
  upgradeMs: { p50: number; p95: number; max: number };
  /** Each survivor's RSS before the storm, right after it, and after a full GC (MiB). */
  survivors: Array<{
    name: string;
    rssBeforeMiB: number;
    rssAfterMiB: number;
    rssAfterGcMiB: number;
  }>;
  /** Machine-wide kernel counters during the storm (other processes' too, if any overflowed). */
  listenOverflows: number;
  listenDrops: number;
  /** % of the machine busy during the storm (all processes). */
  machineBusyPct: number;
  firstError?: string;
}

/**
 * The resume storm: `clients` connect to a victim replica and join rooms; the victim is killed
 * (SIGKILL); every client reconnects at once to one of two survivors and resumes its room.
 */
export async function runStorm(
  replica: ReplicaSettings,
  settings: StormSettings,
  log: (line: string) => void,
): Promise<StormResult> {
  const [victim, b, c] = await Promise.all(
    ['storm-victim', 'storm-b', 'storm-c'].map((name) => startReplica(name, replica)),
  );
  const survivors = [b!, c!];
  const workers = await Promise.all(
    Array.from({ length: settings.processes }, (_, i) => LoadWorker.start(`storm-${i + 1}`)),
  );
  try {
    const perProcess = Math.ceil(settings.clients / settings.processes);
    log(`storm: ${settings.clients.toLocaleString('en-US')} clients join rooms on the victim`);
    const connected = await Promise.all(
      workers.map((w, i) =>
        w.call(
          'stormConnect',
          {
            url: victim!.wsUrl,
            survivors: survivors.map((s) => s.wsUrl),
            auth: { secret: replica.secret, userPrefix: `s${i + 1}-` },
            count: perProcess,
            rooms: Math.max(1, Math.floor(perProcess / settings.roomSize)),
            roomPrefix: `w${i + 1}-`,
            concurrency: settings.concurrency,
          },
          300_000,
        ),
      ),
    );
    const joined = connected.reduce((n, r) => n + r.clients, 0);
    log(`  ${joined} joined; killing the victim (SIGKILL)`);
    const rssBefore = survivors.map((s) => rssKb(s.pid));
    const netBefore = listenCounters();
    if (settings.profileFile) await b!.profileStart(500);
    const ticks = machineTicks();
    const killedAtUs = monoUs();
    victim!.proc.kill();
    const reports = await Promise.all(
      workers.map((w) => w.call('stormWait', { maxMs: settings.maxMs }, settings.maxMs + 30_000)),
    );
    const machineBusyPct = machineUsage(ticks, machineTicks()).busy;
    if (settings.profileFile) await b!.profileStop(settings.profileFile);
    const netAfter = listenCounters();
    const rssAfter = survivors.map((s) => rssKb(s.pid));
    await Promise.all(survivors.map((s) => s.gc()));
    const rssAfterGc = survivors.map((s) => rssKb(s.pid));
    const result = summarize(reports, killedAtUs);
    const mib = (kb: number | undefined): number => Math.round((kb ?? 0) / 102.4) / 10;
    const out: StormResult = {
      ...result,
      survivors: survivors.map((s, i) => ({
        name: s.name,
        rssBeforeMiB: mib(rssBefore[i]),
        rssAfterMiB: mib(rssAfter[i]),
        rssAfterGcMiB: mib(rssAfterGc[i]),
      })),
      listenOverflows: netAfter.overflows - netBefore.overflows,
      listenDrops: netAfter.drops - netBefore.drops,
      machineBusyPct,
    };
    log(
      `  ${out.resumed}/${out.clients} live again ${(out.timeToAllLiveMs / 1000).toFixed(1)} s after the kill; reconnect → reply p50 ${out.resumeMs.p50.toFixed(0)} ms, p95 ${out.resumeMs.p95.toFixed(0)} ms; upgrade p95 ${out.upgradeMs.p95.toFixed(0)} ms; ${out.failedAttempts} failed attempts; listen overflows ${out.listenOverflows}; machine ${out.machineBusyPct.toFixed(0)} % busy`,
    );
    return out;
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all([victim!.proc.stop('SIGKILL'), ...survivors.map((s) => s.stop())]);
  }
}

function summarize(
  reports: StormReport[],
  killedAtUs: number,
): Omit<StormResult, 'survivors' | 'listenOverflows' | 'listenDrops' | 'machineBusyPct'> {
  const resume = mergeHistograms(reports.map((r) => r.resume));
  const upgrade = mergeHistograms(reports.map((r) => r.upgrade));
  const firstError = reports.find((r) => r.firstError)?.firstError;
  return {
    clients: reports.reduce((n, r) => n + r.clients, 0),
    resumed: reports.reduce((n, r) => n + r.resumed, 0),
    failedAttempts: reports.reduce((n, r) => n + r.failedAttempts, 0),
    timeToAllLiveMs: (Math.max(...reports.map((r) => r.lastResumedUs)) - killedAtUs) / 1000,
    resumeMs: {
      p50: quantileMs(resume, 0.5),
      p95: quantileMs(resume, 0.95),
      p99: quantileMs(resume, 0.99),
      max: resume.maxUs / 1000,
    },
    upgradeMs: {
      p50: quantileMs(upgrade, 0.5),
      p95: quantileMs(upgrade, 0.95),
      max: upgrade.maxUs / 1000,
    },
    ...(firstError !== undefined && { firstError }),
  };
}
