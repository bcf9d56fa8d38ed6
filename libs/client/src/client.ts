import { Backoff } from './backoff';
import { CloseCode, closeAction } from './close-codes';
import { TypedEmitter } from './emitter';
import { ClientError } from './errors';
import { Outbox } from './outbox';
import { Subscriptions } from './subscriptions';
import { TokenState } from './token';
import type {
  BackoffOptions,
  Body,
  ClientEvents,
  ClientOptions,
  ClientState,
  HistoryPage,
  HistoryRequest,
  JoinResult,
  LeaveResult,
  Position,
  Positions,
  Published,
  RequestReplies,
  RoomPresence,
  SubscribeResult,
  UnsubscribeResult,
  UsersPresence,
  WebSocketConstructor,
  WebSocketLike,
  Welcome,
} from './types';
import {
  asChatMessage,
  asDirectMessage,
  asHistoryPage,
  asNotification,
  asPresenceChange,
  asPublished,
  asWelcome,
  parseFrame,
  serverError,
  type Reply,
} from './wire';

type Timer = ReturnType<typeof setTimeout>;

interface Settings {
  urls: string[];
  getToken?: () => string | Promise<string>;
  WebSocket: WebSocketConstructor;
  backoff: Required<BackoffOptions>;
}

/** Opens a client; it connects at once, and again whenever the connection is lost. */
export function connect(options: ClientOptions): RealtimeClient {
  return new RealtimeClient(options);
}

/**
 * The realtime client: one connection at a time, re-established with back-off, resuming every
 * room, stream and the inbox from its last seq so that each message reaches the application once
 * and in order per channel. Create it with `connect()`.
 */
export class RealtimeClient extends TypedEmitter<ClientEvents> {
  private readonly settings: Settings;
  private readonly backoff: Backoff;
  /** Paces retries of a failed resume (broker unavailable, rate limited) on a live connection. */
  private readonly resumeBackoff: Backoff;
  private readonly outbox: Outbox;
  private readonly subscriptions: Subscriptions;
  private current: ClientState = 'connecting';
  private socket?: WebSocketLike;
  /** The current connection's `welcome`: set while it is resuming or live. */
  private welcomed?: Welcome;
  /** Bumped for every connection and by `close()`: events of older sockets are ignored. */
  private generation = 0;
  private urlIndex = 0;
  private readonly token: TokenState;
  private reconnectTimer?: Timer;
  /** Timers that belong to one connection (refresh, stable, resume retries): cleared with it. */
  private readonly connectionTimers = new Set<Timer>();
  private closing?: Promise<void>;

  constructor(options: ClientOptions) {
    super();
    const urls = options.urls ?? (options.url === undefined ? [] : [options.url]);
    if (urls.length === 0) throw new TypeError('connect() needs `url` or `urls`');
    const WebSocketImpl =
      options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketImpl) {
      throw new TypeError(
        'connect(): no global WebSocket here; pass `WebSocket` (in Node: the `ws` package)',
      );
    }
    const backoff = {
      baseMs: options.backoff?.baseMs ?? 500,
      maxMs: options.backoff?.maxMs ?? 30_000,
      stableMs: options.backoff?.stableMs ?? 10_000,
    };
    this.settings = {
      urls,
      getToken: options.getToken,
      WebSocket: WebSocketImpl,
      backoff,
    };
    this.backoff = new Backoff(backoff, options.random);
    this.resumeBackoff = new Backoff(backoff, options.random);
    const isLive = (): boolean => this.current === 'live';
    this.outbox = new Outbox(
      {
        queueSize: options.queueSize ?? 1000,
        timeoutMs: options.timeoutMs ?? 10_000,
        perSecond: options.rate?.perSecond ?? 80,
        burst: options.rate?.burst ?? 160,
        maxFrameBytes: options.maxFrameBytes ?? 64 * 1024,
      },
      {
        get live() {
          return isLive();
        },
        write: (text) => this.write(text),
      },
      options.random,
    );
    const later = (ms: number, run: () => void): void => this.later(ms, run);
    const emit = <K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]): void =>
      this.emit(event, payload);
    const connection = (): number => this.generation;
    const connected = (): boolean => this.welcomed !== undefined;
    this.subscriptions = new Subscriptions(
      {
        outbox: this.outbox,
        resumeBackoff: this.resumeBackoff,
        get connection() {
          return connection();
        },
        get connected() {
          return connected();
        },
        emit,
        later,
      },
      { dedupeWindow: options.dedupeWindow ?? 1000, inbox: options.inbox ?? 'live' },
    );
    this.token = new TokenState(options.refreshAt ?? 0.8);
    if (options.token !== undefined) this.token.set(options.token, Date.now());
    void this.open();
  }

  get state(): ClientState {
    return this.current;
  }

  /** The current connection's `welcome` (its id, replica and user) while resuming or live. */
  get connection(): Welcome | undefined {
    return this.welcomed;
  }

  /** Where each joined room and stream, and the inbox, would resume from (persist to resume). */
  positions(): Positions {
    return this.subscriptions.positions();
  }

  /**
   * Joins a room (again after every reconnect, from its last seq). `from` resumes from a position
   * persisted earlier. Joining a joined room resolves with where it is.
   */
  join(room: string, from?: Position): Promise<JoinResult> {
    return this.subscriptions.join(room, from);
  }

  /** Leaves a room: its messages stop at once, and it is not re-joined. */
  leave(room: string): Promise<LeaveResult> {
    return this.subscriptions.leave(room);
  }

  /**
   * Sends to a joined room; resolves once stored, with the message's id and seq. Each call has its
   * own idempotency key, so a send whose connection was lost is sent again on the next one and
   * stored at most once (within the server's 5-minute window).
   */
  send(room: string, body: Body): Promise<Published> {
    const key = newKey();
    return this.outbox
      .enqueue('chat.send', () => ({ room, body, key }), true)
      .then((reply) => asPublished(reply, 'chat.send'));
  }

  /** Sends a direct message (retried like `send`); the reply's seq is the recipient's inbox seq. */
  direct(to: string, body: Body): Promise<Published> {
    const key = newKey();
    return this.outbox
      .enqueue('chat.direct', () => ({ to, body, key }), true)
      .then((reply) => {
        const published = asPublished(reply, 'chat.direct');
        this.subscriptions.sentDirect(published.id);
        return published;
      });
  }

  /**
   * Subscribes to notification streams (again after every reconnect, from their last seqs).
   * `from` resumes from positions persisted earlier.
   */
  subscribe(
    streams: string[],
    from: { since?: Record<string, number>; epoch?: string } = {},
  ): Promise<SubscribeResult> {
    return this.subscriptions.subscribe(streams, from);
  }

  /** Unsubscribes: the streams' notifications stop at once, and they are not re-subscribed. */
  unsubscribe(streams: string[]): Promise<UnsubscribeResult> {
    return this.subscriptions.unsubscribe(streams);
  }

  /**
   * A page of a joined room's older messages (`chat.history`), the newest last: `before` a seq
   * (omitted: the newest), `limit` 1-100 (default 50). For "load older messages": ask again with
   * `before` = the first message's seq while `hasMore`. These messages are not emitted as events.
   */
  history(request: HistoryRequest): Promise<HistoryPage> {
    const { room, before, limit } = request;
    return this.outbox
      .enqueue(
        'chat.history',
        () => ({
          room,
          ...(before !== undefined && { before }),
          ...(limit !== undefined && { limit }),
        }),
        true,
      )
      .then((reply) => asHistoryPage(reply, room));
  }

  /** Who is in a room (`presence.query {room}`), or which users are online. */
  query(room: string): Promise<RoomPresence>;
  query(users: { users: string[] }): Promise<UsersPresence>;
  query(target: string | { users: string[] }): Promise<RoomPresence | UsersPresence> {
    if (typeof target === 'string') {
      return this.outbox
        .enqueue('presence.query', () => ({ room: target }), true)
        .then((reply) => ({
          room: target,
          users: Array.isArray(reply.users) ? reply.users.filter(isString) : [],
        }));
    }
    return this.outbox
      .enqueue('presence.query', () => ({ users: target.users }), true)
      .then((reply) => ({
        online: isBooleanMap(reply.online) ? reply.online : {},
      }));
  }

  /**
   * Any request, for events this SDK has no method for (a module of your own). It waits in the
   * queue like the others; `retry: true` sends it again when the connection is lost before its
   * reply (only for requests that are safe to repeat). An event in `RequestReplies` (the server's
   * own, or one a module added by declaration merging) is typed with its reply; the SDK does not
   * check a custom reply's shape.
   */
  request<E extends keyof RequestReplies>(
    event: E,
    data?: Record<string, unknown>,
    options?: { retry?: boolean },
  ): Promise<RequestReplies[E]>;
  request(
    event: string,
    data?: Record<string, unknown>,
    options?: { retry?: boolean },
  ): Promise<Reply>;
  request(
    event: string,
    data: Record<string, unknown> = {},
    options: { retry?: boolean } = {},
  ): Promise<Reply> {
    return this.outbox.enqueue(event, () => data, options.retry ?? false);
  }

  /** Closes the connection for good; requests not yet answered reject with `closed`. */
  close(): Promise<void> {
    this.closing ??= this.shutDown(new ClientError('closed', 'the client was closed'));
    return this.closing;
  }

  // ── connection lifecycle ───────────────────────────────────────────────────────────────────

  private async open(): Promise<void> {
    this.reconnectTimer = undefined;
    const generation = ++this.generation;
    this.setState('connecting');
    let token: string | undefined;
    try {
      token = await this.tokenForConnect();
    } catch (error) {
      if (generation !== this.generation) return;
      this.emitError(toClientError(error, 'token_unavailable', 'getToken failed'));
      this.retryIn(this.backoff.next());
      return;
    }
    if (generation !== this.generation) return;
    let socket: WebSocketLike;
    try {
      socket = new this.settings.WebSocket(this.urlWith(token));
    } catch (error) {
      this.fail(toClientError(error, 'protocol', 'cannot open a WebSocket'));
      return;
    }
    this.socket = socket;
    socket.onmessage = (event: { data?: unknown }) => {
      if (generation === this.generation) this.receive(event.data);
    };
    socket.onclose = (event: { code?: unknown; reason?: unknown }) => {
      if (generation !== this.generation) return;
      const code = typeof event.code === 'number' ? event.code : CloseCode.Abnormal;
      this.onClose(code, typeof event.reason === 'string' ? event.reason : '');
    };
    // Every error is followed by a close event, which decides what to do.
    socket.onerror = () => undefined;
  }

  private onWelcome(data: Record<string, unknown>): void {
    const welcome = asWelcome(data);
    if (!welcome) return this.emitError(protocolError('welcome'));
    this.welcomed = welcome;
    this.emit('welcome', welcome);
    this.scheduleRefresh();
    const generation = this.generation;
    const resumes = this.subscriptions.welcomed(welcome.userId);
    if (resumes.length === 0) return this.goLive();
    this.setState('resuming');
    void Promise.all(resumes).then(() => {
      if (generation === this.generation) this.goLive();
    });
  }

  private goLive(): void {
    this.setState('live');
    this.later(this.settings.backoff.stableMs, () => {
      this.backoff.reset();
      this.resumeBackoff.reset();
    });
    this.outbox.pump();
  }

  private onClose(code: number, reason: string): void {
    const url = this.settings.urls[this.urlIndex] ?? '';
    const welcomed = this.welcomed !== undefined;
    this.endConnection();
    const action = closeAction(code, { welcomed, canGetToken: !!this.settings.getToken });
    if (action.report) {
      this.emitError(
        new ClientError(
          action.report,
          `the server closed the connection (${code}${reason ? `: ${reason}` : ''})`,
          { closeCode: code },
        ),
      );
    }
    if (action.stop) {
      this.emit('disconnect', { code, reason, url });
      this.fail(
        code === CloseCode.Disconnected
          ? new ClientError(
              'disconnected',
              `the server ended the session (4003${reason ? `: ${reason}` : ''})`,
              { closeCode: code },
            )
          : new ClientError(
              'unauthorized',
              'the server refused the token (4001) and there is no getToken to get another',
              { closeCode: code },
            ),
      );
      return;
    }
    if (action.newToken) this.token.rejected = true;
    if (action.rotate) this.urlIndex = (this.urlIndex + 1) % this.settings.urls.length;
    const delay = action.immediate ? 0 : this.backoff.next();
    this.setState('disconnected');
    this.emit('disconnect', { code, reason, url, retryInMs: delay });
    this.retryIn(delay);
  }

  private retryIn(delay: number): void {
    if (this.current === 'closed') return;
    this.setState('disconnected');
    this.reconnectTimer = setTimeout(() => void this.open(), delay);
  }

  /** Forgets the socket; requests it carried are retried on the next one or rejected. */
  private endConnection(): void {
    this.socket = undefined;
    this.welcomed = undefined;
    this.subscriptions.disconnected();
    for (const timer of this.connectionTimers) clearTimeout(timer);
    this.connectionTimers.clear();
    this.outbox.disconnected();
  }

  private shutDown(error: ClientError): Promise<void> {
    const socket = this.socket;
    this.generation++;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.endConnection();
    this.outbox.close(error);
    this.setState('closed');
    if (!socket || socket.readyState >= 2) return Promise.resolve();
    return new Promise((resolve) => {
      socket.onclose = () => resolve();
      socket.close(CloseCode.Normal, 'client closed');
    });
  }

  /** Gives up for good, telling the application why. */
  private fail(error: ClientError): void {
    this.emitError(error);
    this.closing ??= this.shutDown(error);
  }

  private urlWith(token: string | undefined): string {
    const base = this.settings.urls[this.urlIndex] ?? '';
    if (token === undefined) return base;
    // Browsers cannot set headers on a WebSocket: the query parameter works everywhere.
    const url = new URL(base);
    url.searchParams.set('access_token', token);
    return url.toString();
  }

  private setState(next: ClientState): void {
    if (this.current === next || this.current === 'closed') return;
    const previous = this.current;
    this.current = next;
    this.emit('state', { state: next, previous });
  }

  private emitError(error: ClientError): void {
    this.emit('error', error);
  }

  /** A timer that dies with the current connection. */
  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.connectionTimers.delete(timer);
      run();
    }, ms);
    this.connectionTimers.add(timer);
  }

  // ── frames in ──────────────────────────────────────────────────────────────────────────────

  private receive(raw: unknown): void {
    const frame = parseFrame(raw);
    if (!frame) return this.emitError(protocolError('a frame'));
    const { event, data } = frame;
    switch (event) {
      case 'welcome':
        return this.onWelcome(data);
      case 'reply':
      case 'error':
        if (!this.outbox.settle(event, data) && event === 'error') {
          this.emitError(serverError(data));
        }
        return;
      case 'chat.message': {
        const message = asChatMessage(data);
        if (!message) return this.emitError(protocolError(event));
        return this.subscriptions.message(message);
      }
      case 'chat.direct': {
        const message = asDirectMessage(data);
        if (!message) return this.emitError(protocolError(event));
        return this.subscriptions.direct(message);
      }
      case 'notification': {
        const notification = asNotification(data);
        if (!notification) return this.emitError(protocolError(event));
        return this.subscriptions.notification(notification);
      }
      case 'chat.removed': {
        if (typeof data.room !== 'string') return this.emitError(protocolError(event));
        // Not re-joined after a reconnect: the server would refuse it.
        this.subscriptions.removed(data.room);
        this.emit('removed', { room: data.room, reason: String(data.reason) });
        return;
      }
      case 'presence.join':
      case 'presence.leave': {
        const change = asPresenceChange(event === 'presence.join' ? 'join' : 'leave', data);
        if (!change) return this.emitError(protocolError(event));
        this.emit('presence', change);
        return;
      }
      default:
        // `reconnect` (a drain notice: the 1012 close follows) and events of other modules.
        this.emit('frame', { event, data });
    }
  }

  /** Writes a frame on the current connection, once it has been welcomed. */
  private write(text: string): boolean {
    if (!this.socket || !this.welcomed) return false;
    this.socket.send(text);
    return true;
  }

  // ── tokens ─────────────────────────────────────────────────────────────────────────────────

  private async tokenForConnect(): Promise<string | undefined> {
    if (!this.settings.getToken || !this.token.due(Date.now())) return this.token.token;
    const token = await this.fetchToken();
    this.token.set(token, Date.now());
    return token;
  }

  private async fetchToken(): Promise<string> {
    const getToken = this.settings.getToken;
    if (!getToken) throw new ClientError('token_unavailable', 'there is no getToken');
    const token = await getToken();
    if (typeof token !== 'string' || token.length === 0) {
      throw new ClientError('token_unavailable', 'getToken returned no token');
    }
    return token;
  }

  private scheduleRefresh(): void {
    const refreshAt = this.token.refreshAt;
    if (!this.settings.getToken || refreshAt === undefined) return;
    const generation = this.generation;
    this.later(Math.max(0, refreshAt - Date.now()), () => void this.refresh(generation));
  }

  /** Gets a new token and hands it to the open connection before the old one expires. */
  private async refresh(generation: number): Promise<void> {
    try {
      const token = await this.fetchToken();
      if (generation !== this.generation) {
        // The connection is gone; the next one starts with this token.
        if (this.current !== 'closed') this.token.set(token, Date.now());
        return;
      }
      const reply = await this.outbox.sendNow('auth.refresh', () => ({ token }));
      if (generation !== this.generation) return;
      this.token.set(token, Date.now());
      this.emit('token', {
        expiresAt: typeof reply.expiresAt === 'number' ? reply.expiresAt : null,
      });
      this.scheduleRefresh();
    } catch (error) {
      if (generation !== this.generation) return;
      const cause = toClientError(error, 'token_unavailable', 'getToken failed');
      if (cause.code === 'connection_lost') return;
      this.emitError(
        new ClientError(cause.code, `token refresh failed: ${cause.message}`, { cause }),
      );
      // Try again halfway to the expiry. Past it the server closes with 4001, and the next
      // connection gets a new token first.
      const left = (this.token.expiresAt ?? 0) - Date.now();
      if (left > 2000) this.later(left / 2, () => void this.refresh(generation));
    }
  }
}

function protocolError(what: string): ClientError {
  return new ClientError('protocol', `the server sent ${what} the client cannot read`);
}

function toClientError(
  error: unknown,
  code: ClientError['code'],
  context: string,
  event?: string,
): ClientError {
  if (error instanceof ClientError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ClientError(code, `${context}: ${message}`, { event, cause: error });
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isBooleanMap(value: unknown): value is Record<string, boolean> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((v) => typeof v === 'boolean')
  );
}

/** A fresh idempotency key (Web Crypto: browsers and Node 20 alike). */
function newKey(): string {
  return globalThis.crypto.randomUUID();
}
