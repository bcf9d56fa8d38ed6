import { WebSocket } from 'ws';
import { monoUs, sleep } from './clock';
import { Histogram } from './histogram';
import type { Commands, StormReport } from './protocol';
import { openSocket, parseFrame, runBounded, tokenFor } from './sockets';

/** A reconnect that has not reached `welcome` by then is abandoned and tried again. */
const ATTEMPT_TIMEOUT_MS = 30_000;
/** After a failed attempt a client waits random(0, this) before the next, as the SDK does. */
const RETRY_JITTER_MS = 1_000;

interface StormClient {
  index: number;
  token: string;
  room: string;
  /** The last seq the client has of its room: what it resumes from. */
  seq: number;
  closedAtUs?: number;
  resumedAtUs?: number;
  socket?: WebSocket;
}

/**
 * Lean clients for the reconnect storm: each joins one room on the victim replica; when the victim
 * dies (close 1006) each reconnects at once to a survivor and resumes its room with `since`, as the
 * SDK does, timing the upgrade (close → open) and the resume (close → join reply).
 */
export class StormClients {
  private clients: StormClient[] = [];
  private survivors: string[] = [];
  private readonly upgrade = new Histogram();
  private readonly resume = new Histogram();
  private attempts = 0;
  private failures = 0;
  private firstError?: string;

  async connect(args: Commands['stormConnect']['args']): Promise<StormReport> {
    const started = monoUs();
    this.survivors = args.survivors;
    const { results, errors } = await runBounded(args.count, args.concurrency, async (i) => {
      const userId = `${args.auth.userPrefix}${i}`;
      const client: StormClient = {
        index: i,
        token: tokenFor(args.auth.secret, userId),
        room: `${args.roomPrefix}${i % args.rooms}`,
        seq: 0,
      };
      const ws = await openSocket(args.url, args.auth, i);
      const joined = await this.join(ws, client.room, undefined);
      client.seq = joined;
      client.socket = ws;
      ws.once('close', () => this.lost(client));
      return client;
    });
    this.clients = results;
    if (errors.length > 0) this.firstError = String(errors[0]);
    return this.report(started);
  }

  /** Waits until every client has resumed (or `maxMs` passed), then reports. */
  async wait(args: Commands['stormWait']['args']): Promise<StormReport> {
    const deadline = Date.now() + args.maxMs;
    while (Date.now() < deadline && this.clients.some((c) => c.resumedAtUs === undefined)) {
      await sleep(100);
    }
    return this.report(0);
  }

  closeAll(): null {
    for (const c of this.clients.splice(0)) c.socket?.terminate();
    return null;
  }

  private lost(client: StormClient): void {
    client.closedAtUs = monoUs();
    client.socket = undefined;
    void this.reconnect(client);
  }

  private async reconnect(client: StormClient): Promise<void> {
    const url = this.survivors[client.index % this.survivors.length] ?? '';
    for (;;) {
      this.attempts++;
      try {
        const ws = await this.open(url, client);
        client.seq = await this.join(ws, client.room, client.seq);
        client.resumedAtUs = monoUs();
        this.resume.record(client.resumedAtUs - (client.closedAtUs ?? 0));
        client.socket = ws;
        return;
      } catch (error) {
        this.failures++;
        this.firstError ??= String(error);
        await sleep(Math.random() * RETRY_JITTER_MS);
      }
    }
  }

  /** Opens a socket and resolves on `welcome`, recording close → open (the upgrade). */
  private open(url: string, client: StormClient): Promise<WebSocket> {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${client.token}` },
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    return new Promise<WebSocket>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('no welcome in time'));
      }, ATTEMPT_TIMEOUT_MS);
      ws.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      ws.once('open', () => this.upgrade.record(monoUs() - (client.closedAtUs ?? 0)));
      ws.once('message', (raw: Buffer) => {
        clearTimeout(timer);
        if (parseFrame(raw)?.event === 'welcome') resolve(ws);
        else {
          ws.terminate();
          reject(new Error(`expected welcome, got ${raw.toString().slice(0, 120)}`));
        }
      });
    });
  }

  /** `chat.join` (with `since` on a resume); resolves with the seq the reply says it has. */
  private join(ws: WebSocket, room: string, since: number | undefined): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to join ${room}`)), 60_000);
      const onMessage = (raw: Buffer): void => {
        const frame = parseFrame(raw);
        if (!frame || frame.data.ref !== 1) return;
        ws.off('message', onMessage);
        clearTimeout(timer);
        if (frame.event === 'reply') resolve(Number(frame.data.seq));
        else reject(new Error(`join ${room}: ${JSON.stringify(frame.data)}`));
      };
      ws.on('message', onMessage);
      ws.send(
        JSON.stringify({
          event: 'chat.join',
          data: { room, ref: 1, ...(since !== undefined && { since }) },
        }),
      );
    });
  }

  private report(startedUs: number): StormReport {
    const closed = this.clients.filter((c) => c.closedAtUs !== undefined);
    const resumed = closed.filter((c) => c.resumedAtUs !== undefined);
    return {
      clients: this.clients.length,
      closed: closed.length,
      resumed: resumed.length,
      attempts: this.attempts,
      failedAttempts: this.failures,
      elapsedMs: startedUs > 0 ? (monoUs() - startedUs) / 1000 : 0,
      firstClosedUs: Math.min(...closed.map((c) => c.closedAtUs ?? Infinity)),
      lastResumedUs: Math.max(0, ...resumed.map((c) => c.resumedAtUs ?? 0)),
      upgrade: this.upgrade.toJSON(),
      resume: this.resume.toJSON(),
      ...(this.firstError !== undefined && { firstError: this.firstError }),
    };
  }
}
