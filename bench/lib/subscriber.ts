import type { WebSocket } from 'ws';
import { monoUs, sleep } from './clock';
import { Histogram } from './histogram';
import type { Commands, FanoutTiming, SubscriberReport } from './protocol';
import { intAfter, openSocket, rawUrl, request, runBounded } from './sockets';

/** The send time the publisher puts in every message body: `{"t":<µs>,…}`. */
const SEND_TIME = Buffer.from('"t":');

/**
 * Room members of one load-generator process. Each frame costs one `indexOf` and a digit loop:
 * these processes share the machine's two cores with the servers they measure.
 */
export class Subscribers {
  private readonly sockets: WebSocket[] = [];
  private readonly closes: Record<string, number> = {};
  private timing: FanoutTiming = { t0Us: Infinity, t1Us: -Infinity };
  private histogram = new Histogram();
  private receivedInWindow = 0;
  private sentInWindowReceived = 0;
  private countedBytes = 0;
  private lastFrameUs = 0;

  async subscribe(args: Commands['subscribe']['args']): Promise<Commands['subscribe']['result']> {
    const started = monoUs();
    const { errors } = await runBounded(args.count, args.concurrency, async (i) => {
      const url = args.auth ? args.url : rawUrl(args.url, { room: args.room });
      const ws = await openSocket(url, args.auth, i);
      if (args.auth) await request(ws, 'chat.join', { room: args.room }, 1);
      ws.on('message', (raw: Buffer) => this.receive(raw));
      ws.on('close', (code: number) => (this.closes[code] = (this.closes[code] ?? 0) + 1));
      this.sockets.push(ws);
    });
    if (errors.length > 0) {
      throw new Error(`${errors.length} of ${args.count} subscribers failed: ${String(errors[0])}`);
    }
    return { sockets: this.sockets.length, elapsedMs: (monoUs() - started) / 1000 };
  }

  window(timing: FanoutTiming): null {
    this.timing = timing;
    this.histogram = new Histogram();
    this.receivedInWindow = 0;
    this.sentInWindowReceived = 0;
    this.countedBytes = 0;
    return null;
  }

  async drain({ quietMs, maxMs }: Commands['drain']['args']): Promise<SubscriberReport> {
    const deadline = monoUs() + maxMs * 1000;
    while (monoUs() < deadline && monoUs() - this.lastFrameUs < quietMs * 1000) {
      await sleep(50);
    }
    const counted = this.receivedInWindow;
    return {
      sockets: this.sockets.length,
      receivedInWindow: this.receivedInWindow,
      sentInWindowReceived: this.sentInWindowReceived,
      latency: this.histogram.toJSON(),
      meanFrameBytes: counted > 0 ? this.countedBytes / counted : 0,
      closes: { ...this.closes },
    };
  }

  closeAll(): null {
    for (const ws of this.sockets.splice(0)) ws.close(1000);
    return null;
  }

  private receive(raw: Buffer): void {
    const sentUs = intAfter(raw, SEND_TIME);
    if (sentUs < 0) return;
    const now = monoUs();
    this.lastFrameUs = now;
    const { t0Us, t1Us } = this.timing;
    if (now >= t0Us && now <= t1Us) {
      this.receivedInWindow++;
      this.countedBytes += raw.length;
    }
    if (sentUs >= t0Us && sentUs <= t1Us) {
      this.sentInWindowReceived++;
      this.histogram.record(now - sentUs);
    }
  }
}
