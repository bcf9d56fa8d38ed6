/**
 * The history append path alone (JetStream publish and ack), in this process against a fresh
 * nats-server. Reports appends/s and this process's CPU per append, for
 * rooms (one append per message) and direct messages (two appends per message, sent together).
 * Compare runs as ratios on the same machine; the figures alone depend on its load.
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only bench/appends.ts [--quick]
 *   (200,000 appends per phase and 3 rounds; --quick: 20,000 and 1 round)
 */
import { Logger } from '@nestjs/common';
import { JetStreamHistory } from '@app/history';
import { startNatsServer } from '@app/testing';
import { connect } from 'nats';

interface PhaseResult {
  readonly phase: string;
  readonly appendsPerSecond: number;
  readonly cpuMicrosPerAppend: number;
}

const quick = process.argv.includes('--quick');
const APPENDS = quick ? 20_000 : 200_000;
const ROUNDS = quick ? 1 : 3;
/** Appends in flight at once, as a replica's PUBLISH_MAX_INFLIGHT allows. */
const IN_FLIGHT = 256;
const CHANNELS = 100;
const body = new TextEncoder().encode(
  JSON.stringify({ event: 'chat.message', body: 'x'.repeat(100) }),
);

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  const history = new JetStreamHistory(nc, {
    stream: 'BENCH_APPENDS',
    maxMsgsPerChannel: 100,
    maxAgeMs: 60_000,
    replicas: 1,
  });
  try {
    await history.onModuleInit();
    // Warm-up: JIT and the stream's first blocks.
    await run('warm-up', history, 1, Math.min(APPENDS, 10_000));
    const results: PhaseResult[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      results.push(await run('rooms', history, 1, APPENDS));
      results.push(await run('dms', history, 2, APPENDS));
    }
    for (const phase of ['rooms', 'dms']) {
      const of = results.filter((r) => r.phase === phase);
      console.log(
        JSON.stringify({
          phase,
          appendsPerSecond: median(of.map((r) => r.appendsPerSecond)),
          cpuMicrosPerAppend: median(of.map((r) => r.cpuMicrosPerAppend)),
          rounds: of.length,
        }),
      );
    }
  } finally {
    await nc.close();
    await server.stop();
  }
}

/** `appends` appends, `perMessage` of them sent together per message, `IN_FLIGHT` at most. */
async function run(
  phase: string,
  history: JetStreamHistory,
  perMessage: number,
  appends: number,
): Promise<PhaseResult> {
  const headers = { 'Rt-Origin': 'bench-connection' };
  let next = 0;
  const worker = async (w: number): Promise<void> => {
    while (next < appends) {
      next += perMessage;
      const channel = `bench.${(w + next) % CHANNELS}`;
      const sends = [];
      for (let i = 0; i < perMessage; i++) {
        sends.push(history.publishStored(`${channel}.${i}`, body, headers));
      }
      await Promise.all(sends);
    }
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT / perMessage }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    phase,
    appendsPerSecond: Math.round(next / seconds),
    cpuMicrosPerAppend: Number(((used.user + used.system) / next).toFixed(2)),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
