import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { WebSocket, type RawData } from 'ws';
import { CloseCode, type Principal } from '@app/core';
import { encodeFrame, type ServerEvents } from './frames';
import { RateLimiter, type RateLimit } from './rate-limiter';
import { rawSocketOf } from './internals';
import { corkUntilTurnEnds } from './turn-cork';
import type { WireFrame } from './wire-frame';
import type { WsMetrics } from './ws-metrics';
import { WritableWait } from './writable-wait';

const SEND_TEXT = { binary: false } as const;
const logger = new Logger('Connection');

/** Who handles every connection's frames and closes: one object, not closures per socket. */
export interface ConnectionOwner {
  receive(conn: Connection, raw: RawData, isBinary: boolean): void;
  closed(conn: Connection): void;
}

const CONNECTION = Symbol('connection');
type TaggedSocket = WebSocket & { [CONNECTION]: Connection };

function connectionOf(socket: WebSocket): Connection {
  return (socket as TaggedSocket)[CONNECTION];
}

// Socket listeners shared by every connection, each finding its connection on the socket: a
// closure per socket and event would cost memory on every idle connection.
function onMessage(this: WebSocket, raw: RawData, isBinary: boolean): void {
  const conn = connectionOf(this);
  conn.owner?.receive(conn, raw, isBinary);
}
function onPong(this: WebSocket): void {
  connectionOf(this).missedPings = 0;
}
function onError(this: WebSocket, error: Error): void {
  // ws emits the error (a protocol violation, a reset) and then closes the socket.
  logger.debug({ connectionId: connectionOf(this).id, err: error.message });
}
function onClose(this: WebSocket): void {
  connectionOf(this).handleClose();
}

export interface ConnectionLimits {
  maxBufferedBytes: number;
  rate: RateLimit;
  /**
   * How long a streaming writer waits for unsent data to shrink before the socket counts as not
   * reading and is closed with 1013. Default 25 s (the heartbeat interval's default).
   */
  stallMs?: number;
}

const DEFAULT_STALL_MS = 25_000;

/**
 * One client socket. Every write goes through `sendFrame`, the one place that enforces the
 * buffered-bytes bound: a socket that does not keep up is closed with 1013 and resumes later from
 * its last seq, so nothing upstream ever waits on it.
 */
export class Connection {
  readonly id = randomUUID();
  /** Heartbeat intervals since the client was last heard. */
  missedPings = 0;
  readonly limiter: RateLimiter;
  private closeListeners: Array<() => void> = [];
  /** Requests being handled: a drain waits for them, so their replies are not lost. */
  private inFlight = 0;
  private idleListeners?: Array<() => void>;
  /** The wait of the streaming writers (replays) for this socket to drain, while there is one. */
  private writable?: WritableWait;

  /**
   * @param owner receives the frames and the close (the hub); without one, frames are ignored
   */
  constructor(
    private readonly socket: WebSocket,
    public user: Principal | null,
    private readonly limits: ConnectionLimits,
    private readonly metrics?: WsMetrics,
    readonly owner?: ConnectionOwner,
  ) {
    this.limiter = new RateLimiter(limits.rate);
    (socket as TaggedSocket)[CONNECTION] = this;
    socket.on('message', onMessage).on('pong', onPong).on('error', onError).on('close', onClose);
  }

  /** The socket closed (called by its listener): the owner first, then every `onClose` listener. */
  handleClose(): void {
    const listeners = this.closeListeners;
    this.closeListeners = [];
    this.owner?.closed(this);
    for (const listener of listeners) listener();
  }

  get userId(): string | null {
    return this.user?.id ?? null;
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send<E extends keyof ServerEvents>(event: E, data: ServerEvents[E]): boolean {
    const sent = this.sendFrame(encodeFrame(event, data));
    if (sent) this.metrics?.frameOut(event).inc();
    return sent;
  }

  /** The unsent data past which the socket is closed as a slow consumer (1013). */
  get bufferLimit(): number {
    return this.limits.maxBufferedBytes;
  }

  /**
   * Whether a streaming writer may write more now: unsent data is under half the bound, which
   * leaves the other half for live messages and replies.
   */
  get hasRoom(): boolean {
    return this.socket.bufferedAmount <= this.limits.maxBufferedBytes / 2;
  }

  /**
   * Resolves true once `hasRoom`, false once the socket is closed. A replay awaits this before
   * each write instead of writing past the bound, so a client that reads gets any backlog. A
   * socket whose unsent data does not shrink for `stallMs` does not read: it is closed with 1013.
   */
  whenWritable(): Promise<boolean> {
    if (!this.isOpen) return Promise.resolve(false);
    if (this.hasRoom) return Promise.resolve(true);
    if (!this.writable) {
      const wait = new WritableWait(
        this.socket,
        () => this.hasRoom,
        this.limits.stallMs ?? DEFAULT_STALL_MS,
        () => this.closeSlow(),
      );
      this.writable = wait;
      const settled = (): void => {
        if (this.writable === wait) this.writable = undefined;
      };
      void wait.done.then(settled);
    }
    return this.writable.done;
  }

  /**
   * Writes an already serialized frame (the same Buffer may go to many sockets). Like every write
   * here, it leaves the socket in the turn's batch (turn-cork.ts): one syscall per socket and turn.
   */
  sendFrame(frame: string | Buffer): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.closeSlow();
      return false;
    }
    const raw = rawSocketOf(this.socket);
    if (raw) corkUntilTurnEnds(raw);
    this.socket.send(frame, SEND_TEXT);
    return true;
  }

  /** Writes a frame framed once for many sockets (fan-out): the same checks as `sendFrame`. */
  sendWire(frame: WireFrame): boolean {
    if (this.socket.readyState !== WebSocket.OPEN) return false;
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      this.closeSlow();
      return false;
    }
    const raw = rawSocketOf(this.socket);
    if (!raw) return this.sendFrame(frame.payload);
    corkUntilTurnEnds(raw);
    raw.write(frame.bytes);
    return true;
  }

  /** Closes a socket that does not keep up: its client resumes later from its last seq. */
  closeSlow(): void {
    if (!this.isOpen) return;
    this.metrics?.slowConsumerCloses.inc();
    this.close(CloseCode.TryAgainLater, 'slow consumer');
  }

  close(code: number, reason: string): void {
    if (
      this.socket.readyState === WebSocket.OPEN ||
      this.socket.readyState === WebSocket.CONNECTING
    ) {
      this.socket.close(code, reason);
    }
  }

  /** Drops a peer that stopped answering, without a closing handshake. */
  terminate(): void {
    this.socket.terminate();
  }

  ping(): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.ping();
  }

  /** A request is being handled: call `requestAnswered()` once it has answered. */
  requestStarted(): void {
    this.inFlight++;
  }

  requestAnswered(): void {
    if (--this.inFlight > 0 || !this.idleListeners) return;
    for (const listener of this.idleListeners) listener();
    this.idleListeners = undefined;
  }

  /** Requests being handled and not yet answered. */
  get inFlightCount(): number {
    return this.inFlight;
  }

  /** Resolves once no request of this connection is being handled. */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idleListeners ??= []).push(resolve));
  }

  /** Runs once when the socket has closed, whoever closed it. */
  onClose(listener: () => void): void {
    if (this.socket.readyState === WebSocket.CLOSED) listener();
    else this.closeListeners.push(listener);
  }
}
