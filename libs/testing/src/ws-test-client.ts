import { WebSocket } from 'ws';

export interface Frame<T = Record<string, unknown>> {
  event: string;
  data: T;
}

export interface Closed {
  code: number;
  reason: string;
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer …`. */
  token?: string;
  headers?: Record<string, string>;
  /** How long `next` and `request` wait by default. */
  timeoutMs?: number;
}

type Waiter = { match: (frame: Frame) => boolean; resolve: (frame: Frame) => void };

/**
 * A WebSocket client for tests: awaits frames by predicate and replies by `ref`, and fails loudly,
 * naming what it waited for, when they do not come.
 */
export class WsTestClient {
  /** Frames received and not yet taken by `next`, oldest first. */
  private readonly inbox: Frame[] = [];
  private readonly waiters = new Set<Waiter>();
  private nextRef = 1;
  readonly closed: Promise<Closed>;

  private constructor(
    readonly socket: WebSocket,
    private readonly timeoutMs: number,
  ) {
    socket.on('message', (raw) => this.receive(JSON.parse((raw as Buffer).toString()) as Frame));
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
  }

  /** Opens `url` and resolves once the socket is open (the `welcome` frame is then in `next`). */
  static async connect(url: string, options: ConnectOptions = {}): Promise<WsTestClient> {
    const headers = {
      ...options.headers,
      ...(options.token && { authorization: `Bearer ${options.token}` }),
    };
    const socket = new WebSocket(url, { headers });
    const client = new WsTestClient(socket, options.timeoutMs ?? 5000);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** Connects and waits for `welcome`; rejects with the close code if the server closes instead. */
  static async open(url: string, options: ConnectOptions = {}): Promise<WsTestClient> {
    const client = await WsTestClient.connect(url, options);
    const welcome = client.next((f) => f.event === 'welcome', 'welcome');
    const closed = client.closed.then((c) => {
      throw new Error(`closed before welcome: ${c.code} ${c.reason}`);
    });
    await Promise.race([welcome, closed]);
    return client;
  }

  /** Takes the first frame (already received or coming) that matches. */
  next<T = Record<string, unknown>>(
    match: (frame: Frame) => boolean,
    what = 'a matching frame',
    timeoutMs = this.timeoutMs,
  ): Promise<Frame<T>> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0] as Frame<T>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.inbox.map((f) => f.event).join(', ') || 'nothing';
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; unread: ${seen}`));
      }, timeoutMs);
      const waiter: Waiter = {
        match,
        resolve: (frame) => {
          clearTimeout(timer);
          resolve(frame as Frame<T>);
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** Takes the next frame of `event`. */
  nextEvent<T = Record<string, unknown>>(event: string, timeoutMs?: number): Promise<Frame<T>> {
    return this.next<T>((f) => f.event === event, `"${event}"`, timeoutMs);
  }

  /** Collects `count` frames of `event`, in arrival order. */
  async take<T = Record<string, unknown>>(
    event: string,
    count: number,
    timeoutMs?: number,
  ): Promise<T[]> {
    const result: T[] = [];
    for (let i = 0; i < count; i++) {
      result.push((await this.nextEvent<T>(event, timeoutMs ?? this.timeoutMs)).data);
    }
    return result;
  }

  /** Sends a request with a fresh `ref` and resolves with its `reply` or `error` frame. */
  async request(event: string, data: Record<string, unknown> = {}): Promise<Frame> {
    const ref = `r${this.nextRef++}`;
    this.send(event, { ...data, ref });
    return this.next(
      (f) => (f.event === 'reply' || f.event === 'error') && f.data.ref === ref,
      `the answer to ${event} (ref ${ref})`,
    );
  }

  /** Like `request`, but rejects on an `error` frame and resolves with the reply's data. */
  async call<T = Record<string, unknown>>(
    event: string,
    data: Record<string, unknown> = {},
  ): Promise<T> {
    const answer = await this.request(event, data);
    if (answer.event === 'error')
      throw new Error(`${event} failed: ${JSON.stringify(answer.data)}`);
    return answer.data as T;
  }

  send(event: string, data: Record<string, unknown> = {}): void {
    this.socket.send(JSON.stringify({ event, data }));
  }

  sendRaw(raw: string | Buffer): void {
    this.socket.send(raw);
  }

  /** Frames received and not taken, for assertions that nothing else arrived. */
  get unread(): readonly Frame[] {
    return this.inbox;
  }

  async close(): Promise<Closed> {
    if (
      this.socket.readyState === WebSocket.OPEN ||
      this.socket.readyState === WebSocket.CONNECTING
    ) {
      this.socket.close();
    }
    return this.closed;
  }

  private receive(frame: Frame): void {
    for (const waiter of this.waiters) {
      if (waiter.match(frame)) {
        this.waiters.delete(waiter);
        waiter.resolve(frame);
        return;
      }
    }
    this.inbox.push(frame);
  }
}
