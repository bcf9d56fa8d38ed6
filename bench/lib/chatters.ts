import type { WebSocket } from 'ws';
import { monoUs, sleep } from './clock';
import { Histogram } from './histogram';
import type { ChatReport, Commands } from './protocol';
import { intAfter, openSocket, parseFrame, rawUrl, request, runBounded } from './sockets';

const SEND_TIME = Buffer.from('"t":');
const MESSAGE_ID = Buffer.from('"i":');
const ERROR = Buffer.from('{"event":"error"');
const REF = Buffer.from('"ref":');
const TICK_MS = 2;
const ACK_WAIT_MS = 10_000;
const QUIET_MS = 500;

/**
 * Users of one load-generator process who chat among themselves, so that the process that sends a
 * message also sees every delivery of it: `rooms` (socket i is in room ⌊i / roomSize⌋, senders
 * rotate over the members) or `dms` (socket i sends to socket i ^ 1). Sockets alternate over the
 * given URLs, so with two replicas a room's members and a DM's two ends sit on both.
 *
 * A message is acknowledged when all its deliveries have arrived, for ours and raw alike (our
 * `reply` only matters when it is an `error`): the max-rate window counts complete messages.
 */
export class Chatters {
  private readonly sockets: WebSocket[] = [];
  private readonly users: string[] = [];
  private readonly closes: Record<string, number> = {};
  private setup: Commands['chatSetup']['args'] | undefined;
  private deliveriesPerMessage = 1;
  private nextId = 1;
  /** Message id → [send time µs, deliveries still to come]. */
  private readonly outstanding = new Map<number, [number, number]>();
  /** Ours only: message id → send time µs, until the sender's `reply` (it may follow deliveries). */
  private readonly unreplied = new Map<number, number>();
  private live = emptyLive();
  private window = { t0Us: Infinity, t1Us: -Infinity };
  private onAck?: () => void;

  async open(args: Commands['chatSetup']['args']): Promise<{ sockets: number; elapsedMs: number }> {
    const started = monoUs();
    this.setup = args;
    this.deliveriesPerMessage = args.mode === 'rooms' ? args.roomSize : 1;
    const sockets = new Array<WebSocket>(args.count);
    const { errors } = await runBounded(args.count, args.concurrency, async (i) => {
      const url = args.urls[i % args.urls.length] ?? '';
      const room = this.roomOf(i);
      const user = `${args.prefix}${i}`;
      this.users[i] = user;
      const target =
        args.auth !== null ? url : rawUrl(url, args.mode === 'rooms' ? { room } : { user });
      const ws = await openSocket(target, args.auth, i);
      if (args.auth && args.mode === 'rooms') await request(ws, 'chat.join', { room }, 0);
      ws.on('message', (raw: Buffer) => this.receive(raw));
      ws.on('close', (code: number) => (this.closes[code] = (this.closes[code] ?? 0) + 1));
      sockets[i] = ws;
    });
    if (errors.length > 0) {
      throw new Error(`${errors.length} of ${args.count} chatters failed: ${String(errors[0])}`);
    }
    this.sockets.push(...sockets);
    return { sockets: this.sockets.length, elapsedMs: (monoUs() - started) / 1000 };
  }

  /** Sends from now until t1 (warm-up until t0), then waits for the deliveries still due. */
  async run(args: Commands['chat']['args']): Promise<ChatReport> {
    this.live = emptyLive();
    this.outstanding.clear();
    this.unreplied.clear();
    this.window = { t0Us: args.t0Us, t1Us: args.t1Us };
    const started = monoUs();
    if (args.rate === null) {
      await this.sendWindowed(args);
    } else {
      const perUs = args.rate / 1e6;
      while (monoUs() < args.t1Us) {
        const due = Math.floor((monoUs() - started) * perUs);
        while (this.live.sent < due) this.sendOne(args);
        await sleep(TICK_MS);
      }
    }
    const deadline = monoUs() + ACK_WAIT_MS * 1000;
    while (this.outstanding.size > 0 && monoUs() < deadline) await sleep(20);
    while (monoUs() - this.live.lastFrameUs < QUIET_MS * 1000 && monoUs() < deadline) {
      await sleep(50);
    }
    const { latency, ackLatency, replyLatency, ...counts } = this.live;
    return {
      sent: counts.sent,
      sentInWindow: counts.sentInWindow,
      acked: counts.acked,
      receivedInWindow: counts.receivedInWindow,
      receivedBytes: counts.receivedBytes,
      sentInWindowReceived: counts.sentInWindowReceived,
      errors: counts.errors,
      sockets: this.sockets.length,
      deliveriesPerMessage: this.deliveriesPerMessage,
      outstanding: this.outstanding.size,
      latency: latency.toJSON(),
      ackLatency: ackLatency.toJSON(),
      replyLatency: replyLatency.toJSON(),
      closes: { ...this.closes },
    };
  }

  closeAll(): null {
    for (const ws of this.sockets.splice(0)) ws.close(1000);
    return null;
  }

  private roomOf(i: number): string {
    const { prefix, roomSize } = this.setup ?? { prefix: '', roomSize: 1 };
    return `${prefix}room-${Math.floor(i / roomSize)}`;
  }

  private sendWindowed(args: Commands['chat']['args']): Promise<void> {
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearInterval(guard);
        this.onAck = undefined;
        resolve();
      };
      const fill = (): void => {
        if (monoUs() >= args.t1Us) return finish();
        while (this.outstanding.size < args.window) this.sendOne(args);
      };
      // A window whose deliveries stop coming must still end at t1.
      const guard = setInterval(() => monoUs() >= args.t1Us && finish(), 100);
      this.onAck = fill;
      fill();
    });
  }

  private sendOne(args: Commands['chat']['args']): void {
    const setup = this.setup;
    if (!setup) throw new Error('chatSetup first');
    const k = this.nextId++;
    const count = this.sockets.length;
    let from: number;
    let frame: string;
    const t = monoUs();
    const body = { t, i: k };
    if (setup.mode === 'rooms') {
      const rooms = Math.ceil(count / setup.roomSize);
      const room = k % rooms;
      from = room * setup.roomSize + (Math.floor(k / rooms) % setup.roomSize);
      const data = { room: this.roomOf(from), body, ref: k };
      frame = JSON.stringify({ event: 'chat.send', data });
    } else {
      from = k % count;
      const data = { to: this.users[from ^ 1], body, ref: k };
      frame = JSON.stringify({ event: 'chat.direct', data });
    }
    if (setup.auth === null && args.padTo > frame.length) {
      const pad = 'x'.repeat(Math.max(0, args.padTo - frame.length - ',"pad":""'.length));
      frame = `${frame.slice(0, -2)},"pad":"${pad}"}}`;
    }
    this.outstanding.set(k, [t, this.deliveriesPerMessage]);
    if (setup.auth !== null) this.unreplied.set(k, t);
    this.live.sent++;
    if (t >= args.t0Us && t <= args.t1Us) this.live.sentInWindow++;
    this.sockets[from]?.send(frame);
  }

  private receive(raw: Buffer): void {
    const sentUs = intAfter(raw, SEND_TIME);
    if (sentUs < 0) return this.answer(raw);
    const now = monoUs();
    const live = this.live;
    live.lastFrameUs = now;
    const { t0Us, t1Us } = this.window;
    if (now >= t0Us && now <= t1Us) {
      live.receivedInWindow++;
      live.receivedBytes += raw.length;
    }
    if (sentUs >= t0Us && sentUs <= t1Us) {
      live.sentInWindowReceived++;
      live.latency.record(now - sentUs);
    }
    const id = intAfter(raw, MESSAGE_ID);
    const entry = this.outstanding.get(id);
    if (entry && --entry[1] === 0) this.settle(id, entry[0], now);
  }

  /** Ours only: a `reply` (its latency recorded) or an `error`, which ends the message's wait. */
  private answer(raw: Buffer): void {
    if (raw.subarray(0, ERROR.length).compare(ERROR) !== 0) return this.reply(raw);
    const data = parseFrame(raw)?.data;
    const code = String(data?.code);
    this.live.errors[code] = (this.live.errors[code] ?? 0) + 1;
    const entry = typeof data?.ref === 'number' ? this.outstanding.get(data.ref) : undefined;
    if (entry && typeof data?.ref === 'number') this.settle(data.ref, entry[0], monoUs());
  }

  private reply(raw: Buffer): void {
    const id = intAfter(raw, REF);
    const sentUs = this.unreplied.get(id);
    if (sentUs === undefined) return;
    this.unreplied.delete(id);
    if (sentUs >= this.window.t0Us && sentUs <= this.window.t1Us) {
      this.live.replyLatency.record(monoUs() - sentUs);
    }
  }

  private settle(id: number, sentUs: number, now: number): void {
    this.outstanding.delete(id);
    this.live.acked++;
    this.live.ackLatency.record(now - sentUs);
    this.onAck?.();
  }
}

type Live = Omit<
  ChatReport,
  | 'sockets'
  | 'deliveriesPerMessage'
  | 'outstanding'
  | 'latency'
  | 'ackLatency'
  | 'replyLatency'
  | 'closes'
> & {
  latency: Histogram;
  ackLatency: Histogram;
  replyLatency: Histogram;
  lastFrameUs: number;
};

function emptyLive(): Live {
  return {
    sent: 0,
    sentInWindow: 0,
    acked: 0,
    receivedInWindow: 0,
    receivedBytes: 0,
    sentInWindowReceived: 0,
    errors: {},
    latency: new Histogram(),
    ackLatency: new Histogram(),
    replyLatency: new Histogram(),
    lastFrameUs: 0,
  };
}
