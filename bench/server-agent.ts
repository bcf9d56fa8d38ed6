/**
 * Preloaded (`node -r`) into every server the benchmark measures, ours and raw alike, after being
 * transpiled to plain JS at run time (so that no TypeScript compiler sits in a measured process).
 * Over the IPC channel the orchestrator opened, it runs a full GC before an RSS sample (the
 * process is started with --expose-gc), starts/stops a V8 CPU profile around one window, and
 * samples which code allocated the heap that idle connections keep alive.
 * It changes nothing in the server until asked.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export type AgentRequest =
  | { agent: 'gc'; id: number }
  | { agent: 'profileStart'; id: number; intervalUs: number }
  | { agent: 'profileStop'; id: number; file: string }
  | { agent: 'heapSampleStart'; id: number; intervalBytes: number }
  | { agent: 'heapSampleStop'; id: number; file: string };

export type AgentResponse = {
  agent: true;
  id: number;
  error?: string;
  memory?: NodeJS.MemoryUsage;
};

let session: Session | undefined;

function post(method: string, params?: object): Promise<unknown> {
  if (!session) {
    session = new Session();
    session.connect();
  }
  const s = session;
  return new Promise((resolve, reject) =>
    s.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

async function run(request: AgentRequest): Promise<Omit<AgentResponse, 'agent' | 'id'>> {
  switch (request.agent) {
    case 'gc': {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start the server with --expose-gc');
      gc();
      return { memory: process.memoryUsage() };
    }
    case 'profileStart':
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: request.intervalUs });
      await post('Profiler.start');
      return {};
    case 'profileStop': {
      const result = (await post('Profiler.stop')) as { profile: object };
      writeFileSync(request.file, JSON.stringify(result.profile));
      return {};
    }
    case 'heapSampleStart':
      await post('HeapProfiler.enable');
      await post('HeapProfiler.startSampling', { samplingInterval: request.intervalBytes });
      return {};
    case 'heapSampleStop': {
      const result = (await post('HeapProfiler.stopSampling')) as { profile: object };
      writeFileSync(request.file, JSON.stringify(result.profile));
      return {};
    }
  }
}

function isAgentRequest(message: unknown): message is AgentRequest {
  return typeof message === 'object' && message !== null && 'agent' in message && 'id' in message;
}

if (process.send) {
  process.on('message', (message: unknown) => {
    if (!isAgentRequest(message)) return;
    run(message).then(
      (result) => process.send?.({ agent: true, id: message.id, ...result }),
      (error: unknown) => process.send?.({ agent: true, id: message.id, error: String(error) }),
    );
  });
  // Orphaned by a dead orchestrator: do not linger.
  process.on('disconnect', () => process.exit(1));
}
