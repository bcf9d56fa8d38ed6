import type { WebSocket } from 'ws';
import { monoUs } from './clock';
import type { Commands, IdleReport } from './protocol';
import { openSocket, runBounded } from './sockets';

/** Connections that open (and, ours, get `welcome`), then stay silent until closed. */
export class IdleClients {
  private readonly sockets: WebSocket[] = [];

  async connect(args: Commands['connectIdle']['args']): Promise<IdleReport> {
    const started = monoUs();
    const offset = this.sockets.length;
    const { results, errors } = await runBounded(args.count, args.concurrency, (i) =>
      openSocket(args.url, args.auth, offset + i),
    );
    this.sockets.push(...results);
    return {
      connected: results.length,
      failed: errors.length,
      elapsedMs: (monoUs() - started) / 1000,
      ...(errors.length > 0 && { firstError: String(errors[0]) }),
    };
  }

  closeAll(): null {
    for (const ws of this.sockets.splice(0)) ws.terminate();
    return null;
  }
}
