import { WebSocket } from 'ws';
import { rawSocketOf } from './internals';

/**
 * Waits for one socket's unsent data to drain, for writers that stream (a replay) instead of
 * writing everything at once. `ws` has no drain event on the WebSocket: the TCP socket's `drain`
 * (reached through `rawSocketOf` in internals.ts) says the buffer emptied,
 * and a check every `stallMs` catches the rest. A socket whose unsent data has not shrunk for
 * `stallMs` does not read: `onStall` closes it, and waiters get false.
 */
export class WritableWait {
  readonly done: Promise<boolean>;
  private finish: (writable: boolean) => void = () => undefined;
  private timer?: NodeJS.Timeout;
  private lastBuffered: number;

  constructor(
    private readonly socket: WebSocket,
    private readonly hasRoom: () => boolean,
    private readonly stallMs: number,
    private readonly onStall: () => void,
  ) {
    this.lastBuffered = socket.bufferedAmount;
    this.done = new Promise((resolve) => {
      this.finish = (writable) => {
        this.stop();
        resolve(writable);
      };
    });
    rawSocketOf(socket)?.on('drain', this.check);
    socket.on('close', this.closed);
    this.timer = setInterval(this.tick, stallMs);
    this.timer.unref();
  }

  private readonly check = (): void => {
    if (this.socket.readyState !== WebSocket.OPEN) this.finish(false);
    else if (this.hasRoom()) this.finish(true);
  };

  private readonly closed = (): void => this.finish(false);

  private readonly tick = (): void => {
    this.check();
    if (!this.timer) return;
    const buffered = this.socket.bufferedAmount;
    if (buffered < this.lastBuffered) {
      this.lastBuffered = buffered;
      return;
    }
    this.finish(false);
    this.onStall();
  };

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    rawSocketOf(this.socket)?.off('drain', this.check);
    this.socket.off('close', this.closed);
  }
}
