import type { WebSocketConstructor, WebSocketLike } from '../types';

export interface SentFrame {
  event: string;
  data: Record<string, unknown> & { ref?: number };
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

/**
 * An in-memory WebSocket for unit tests: the test plays the server through it (open, welcome,
 * frames, replies, closes) and reads what the client sent. Events fire synchronously.
 */
export class FakeWebSocket implements WebSocketLike {
  readyState: number = CONNECTING;
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;
  /** Every frame the client sent, parsed. */
  readonly sent: SentFrame[] = [];
  /** Set when the client closed the socket. */
  closedByClient?: { code?: number; reason?: string };

  constructor(readonly url: string) {}

  get token(): string | null {
    return new URL(this.url).searchParams.get('access_token');
  }

  // ── the client's side ──

  send(text: string): void {
    if (this.readyState !== OPEN) throw new Error('InvalidStateError: the socket is not open');
    const frame = JSON.parse(text) as SentFrame;
    this.sent.push(frame);
    // As the server does, when the test does not play this exchange itself: `chat.inbox` without
    // `since` says where the inbox stands; with it, an up-to-date inbox has nothing to replay.
    if (frame.event === 'chat.inbox' && this.answerInbox) {
      const since = typeof frame.data.since === 'number' ? frame.data.since : 0;
      const reply = { ref: frame.data.ref, seq: Math.max(since, 3), epoch: 'e1', recovered: true };
      // A promise continuation, not queueMicrotask: jest's fake timers fake the latter.
      void Promise.resolve().then(() => this.deliver('reply', reply));
    }
  }

  /** Whether `chat.inbox` is answered by itself; tests of that exchange turn it off. */
  answerInbox = true;

  close(code?: number, reason?: string): void {
    if (this.readyState === CLOSED) return;
    this.closedByClient = { code, reason };
    this.readyState = CLOSED;
    this.fire(this.onclose, { code: code ?? 1005, reason: reason ?? '' });
  }

  // ── the server's side ──

  open(): this {
    this.readyState = OPEN;
    this.fire(this.onopen, {});
    return this;
  }

  /** Opens (if needed) and sends `welcome`. */
  welcome(userId: string | null = 'alice', replica = 'r1'): this {
    if (this.readyState === CONNECTING) this.open();
    return this.deliver('welcome', { connectionId: `c-${this.url}`, replica, userId });
  }

  deliver(event: string, data: Record<string, unknown>): this {
    this.fire(this.onmessage, { data: JSON.stringify({ event, data }) });
    return this;
  }

  deliverRaw(data: unknown): this {
    this.fire(this.onmessage, { data });
    return this;
  }

  /** The requests of `event` the client sent, oldest first. */
  requests(event: string): SentFrame[] {
    return this.sent.filter((f) => f.event === event);
  }

  /** The newest request of `event`; throws when there is none. */
  request(event: string): SentFrame {
    const found = this.requests(event).at(-1);
    if (!found) {
      const seen = this.sent.map((f) => f.event).join(', ') || 'nothing';
      throw new Error(`the client sent no ${event} (sent: ${seen})`);
    }
    return found;
  }

  /** Replies to the newest request of `event`. */
  reply(event: string, result: Record<string, unknown> = {}): this {
    return this.deliver('reply', { ref: this.request(event).data.ref, ...result });
  }

  /** Answers the newest request of `event` with an `error` frame. */
  fail(event: string, code: string, message = code): this {
    return this.deliver('error', { ref: this.request(event).data.ref, code, message });
  }

  /** The server closes the connection with `code`. */
  serverClose(code: number, reason = ''): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.fire(this.onclose, { code, reason });
  }

  /** The connection cannot be made (refused, unreachable): an error, then close 1006. */
  refuse(): void {
    this.fire(this.onerror, {});
    this.serverClose(1006);
  }

  private fire(handler: ((event: never) => void) | null, event: object): void {
    handler?.(event as never);
  }
}

/** Hands out fake sockets and keeps them, newest last. Pass `server.WebSocket` to `connect`. */
export class FakeServer {
  readonly sockets: FakeWebSocket[] = [];
  readonly WebSocket: WebSocketConstructor;
  /** Whether sockets answer `chat.inbox` by themselves; tests of that exchange turn it off. */
  answerInbox = true;

  constructor() {
    const sockets = this.sockets;
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read by the sockets it makes
    const server = this;
    this.WebSocket = class extends FakeWebSocket {
      constructor(url: string) {
        super(url);
        this.answerInbox = server.answerInbox;
        sockets.push(this);
      }
    };
  }

  get last(): FakeWebSocket {
    const socket = this.sockets.at(-1);
    if (!socket) throw new Error('the client opened no socket');
    return socket;
  }
}
