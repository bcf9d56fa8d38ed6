import type { WebSocket } from 'ws';
import { monoUs, sleep } from './clock';
import { Histogram } from './histogram';
import type { Commands, PublisherReport } from './protocol';
import { intAfter, openSocket, rawUrl, parseFrame, request } from './sockets';

const ACK_WAIT_MS = 10_000;
const TICK_MS = 2;
/** A raw echo is the publisher's own frame coming back: `…"ref":N…` identifies it. */
const REF = Buffer.from('"ref":');
const CHAT_MESSAGE = Buffer.from('{"event":"chat.message"');

/**
 * The one publisher. Ours: `chat.send` acknowledged by its `reply`. Raw ws has no replies, so the
 * server's broadcast of the frame back to its sender stands for the acknowledgement.
 */
export class Publisher {
  private ws?: WebSocket;
  private kind: 'ours' | 'raw' = 'ours';
  private room = '';
  private nextRef = 1;
  private readonly outstanding = new Map<number, number>();
  private report: LiveReport = emptyReport();
  private onAck?: () => void;

  async setup(args: Commands['publisherSetup']['args']): Promise<null> {
    this.kind = args.kind;
    this.room = args.room;
    const url = args.auth ? args.url : rawUrl(args.url, { room: args.room });
    const ws = await openSocket(url, args.auth, 0);
    if (args.auth) await request(ws, 'chat.join', { room: args.room }, this.nextRef++);
    ws.on('message', (raw: Buffer) => this.receive(raw));
    this.ws = ws;
    return null;
  }

  async publish(args: Commands['publish']['args']): Promise<PublisherReport> {
    this.report = emptyReport();
    this.outstanding.clear();
    const started = monoUs();
    if (args.rate === null) {
      await this.publishWindowed(args.window, args.t1Us, args);
    } else {
      const perUs = args.rate / 1e6;
      while (monoUs() < args.t1Us) {
        const due = Math.floor((monoUs() - started) * perUs);
        while (this.report.sent < due) this.sendOne(args);
        await sleep(TICK_MS);
      }
    }
    const deadline = monoUs() + ACK_WAIT_MS * 1000;
    while (this.outstanding.size > 0 && monoUs() < deadline) await sleep(20);
    this.report.outstanding = this.outstanding.size;
    return { ...this.report, ackLatency: this.report.ackLatency.toJSON() };
  }

  private async publishWindowed(
    window: number,
    t1Us: number,
    args: Commands['publish']['args'],
  ): Promise<void> {
    await new Promise<void>((resolve) => {
      const fill = (): void => {
        if (monoUs() >= t1Us) {
          this.onAck = undefined;
          resolve();
          return;
        }
        while (this.outstanding.size < window) this.sendOne(args);
      };
      this.onAck = fill;
      fill();
      // A publisher whose acks stop coming must still end at t1.
      const guard = setInterval(() => {
        if (monoUs() >= t1Us) {
          clearInterval(guard);
          this.onAck = undefined;
          resolve();
        }
      }, 100);
    });
  }

  private sendOne(args: Commands['publish']['args']): void {
    const ref = this.nextRef++;
    const t = monoUs();
    const body = { t, i: ref };
    let frame = JSON.stringify({ event: 'chat.send', data: { room: this.room, body, ref } });
    if (this.kind === 'raw' && args.padTo > frame.length) {
      const pad = 'x'.repeat(Math.max(0, args.padTo - frame.length - ',"pad":""'.length));
      frame = `${frame.slice(0, -2)},"pad":"${pad}"}}`;
    }
    this.outstanding.set(ref, t);
    this.report.sent++;
    if (t >= args.t0Us && t <= args.t1Us) this.report.sentInWindow++;
    this.ws?.send(frame);
  }

  private receive(raw: Buffer): void {
    let ref: number;
    if (this.kind === 'raw') {
      ref = intAfter(raw, REF);
    } else {
      if (raw.subarray(0, CHAT_MESSAGE.length).equals(CHAT_MESSAGE)) return; // our own echo
      const frame = parseFrame(raw);
      const value = frame?.data.ref;
      if (typeof value !== 'number') return;
      ref = value;
      if (frame?.event === 'error') {
        const code = String(frame.data.code);
        this.report.errors[code] = (this.report.errors[code] ?? 0) + 1;
      }
    }
    const sentUs = this.outstanding.get(ref);
    if (sentUs === undefined) return;
    this.outstanding.delete(ref);
    this.report.acked++;
    this.report.ackLatency.record(monoUs() - sentUs);
    this.onAck?.();
  }
}

type LiveReport = Omit<PublisherReport, 'ackLatency'> & { ackLatency: Histogram };

function emptyReport(): LiveReport {
  return {
    sent: 0,
    sentInWindow: 0,
    acked: 0,
    errors: {},
    ackLatency: new Histogram(),
    outstanding: 0,
  };
}
