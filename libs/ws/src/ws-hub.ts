import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { AppError, CloseCode, type Principal } from '@app/core';
import { attempt } from './attempt';
import { BadInputLog } from './bad-input-log';
import { Connection, type ConnectionOwner } from './connection';
import { ExpiryWheel } from './expiry-wheel';
import { errorData, isPlainObject, refOf, type Ref } from './frames';
import { exceedsJsonDepth, jsonDepthMessage } from './json-depth';
import { limitExceeded } from './limits';
import { INVALID_EVENT, UNKNOWN_EVENT, WsMetrics } from './ws-metrics';
import { WsDispatcher } from './ws-dispatcher';
import { WS_OPTIONS, type WsOptions } from './ws-options';

/** How long a draining connection's requests in flight may take to answer before it closes. */
const IN_FLIGHT_BOUND_MS = 5_000;

/**
 * Runs for each accepted connection before its `welcome`; a returned promise delays the welcome
 * until it settles (e.g. until the user's inbox subscription is live), so that nothing a client
 * is sent after its welcome can be missed.
 */
type ConnectListener = (conn: Connection, request: IncomingMessage) => unknown;

/** Runs after `auth.refresh` replaced a connection's principal (rights may have shrunk). */
type RefreshListener = (conn: Connection) => unknown;

/**
 * The /ws endpoint: upgrade and authentication before any frame, framing, limits, heartbeat, token
 * expiry and drain. Nest's adapter API is a thin shim over it (see `RealtimeWsAdapter`), so the
 * rules here hold for every gateway on the path.
 */
@Injectable()
export class WsHub implements BeforeApplicationShutdown, ConnectionOwner {
  private readonly logger = new Logger(WsHub.name);
  private readonly badInput = new BadInputLog(WsHub.name);
  private readonly server: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly connectListeners: ConnectListener[] = [];
  private readonly refreshListeners: RefreshListener[] = [];
  /** Frames of connections whose setup is not done yet, handled right after their welcome. */
  private readonly beforeWelcome = new WeakMap<Connection, Array<[RawData, boolean]>>();
  /** Connections whose drain turn came: no new request is handled for them. */
  private readonly closing = new WeakSet<Connection>();
  private readonly expiry = new ExpiryWheel<Connection>((conn) =>
    conn.close(CloseCode.Unauthorized, 'token expired'),
  );
  private heartbeat?: NodeJS.Timeout;
  private drainPromise?: Promise<void>;

  constructor(
    @Inject(WS_OPTIONS) private readonly options: WsOptions,
    private readonly dispatcher: WsDispatcher,
    @Optional() readonly metrics: WsMetrics = new WsMetrics(),
  ) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  get size(): number {
    return this.connections.size;
  }

  get draining(): boolean {
    return this.drainPromise !== undefined;
  }

  /** Serves upgrades of `path` on `httpServer`; called once by the adapter. */
  attach(httpServer: NodeJS.EventEmitter): void {
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(request, socket, head),
    );
    this.heartbeat = setInterval(() => this.beat(), this.options.pingIntervalMs);
    this.heartbeat.unref();
    this.expiry.start();
  }

  onConnect(listener: ConnectListener): void {
    this.connectListeners.push(listener);
  }

  onRefresh(listener: RefreshListener): void {
    this.refreshListeners.push(listener);
  }

  /**
   * Replaces the principal after `auth.refresh`: a newer token for the same user. Resolves once
   * every refresh listener has applied the new rights, so the reply comes after their effects.
   */
  async refreshUser(conn: Connection, user: Principal): Promise<void> {
    if (conn.userId !== user.id) {
      throw new AppError('forbidden', 'a refreshed token must be for the same user');
    }
    const current = conn.user?.expiresAt;
    if (current !== undefined && user.expiresAt !== undefined && user.expiresAt < current) {
      throw new AppError('bad_request', 'the new token expires before the current one');
    }
    this.expiry.cancel(conn, conn.user?.expiresAt);
    conn.user = user;
    this.expiry.schedule(conn, user.expiresAt);
    const results = await Promise.allSettled(
      this.refreshListeners.map((listener) => attempt(() => listener(conn))),
    );
    for (const result of results) {
      if (result.status === 'rejected') {
        this.logger.error(
          { connectionId: conn.id, err: result.reason as unknown },
          'refresh listener failed',
        );
      }
    }
  }

  /** Every open connection (for drain, metrics and presence). */
  all(): IterableIterator<Connection> {
    return this.connections.values();
  }

  /**
   * Stops taking connections, then sends every client `reconnect` and a 1012 close, spread evenly
   * over `windowMs` so that the other replicas are not hit by all of them at once.
   */
  drain(windowMs: number): Promise<void> {
    this.drainPromise ??= this.closeSpread(windowMs);
    return this.drainPromise;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    // A signal means a real stop (spread the closes); app.close() in tests closes at once.
    await this.drain(signal ? this.options.drainWindowMs : 0);
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.expiry.stop();
    for (const conn of this.connections)
      conn.close(CloseCode.ServiceRestart, 'server shutting down');
  }

  private async closeSpread(windowMs: number): Promise<void> {
    const conns = [...this.connections];
    if (conns.length === 0) return;
    this.logger.log({ connections: conns.length, windowMs, msg: 'drain started' });
    const gap = conns.length > 1 ? windowMs / conns.length : 0;
    const closed = conns.map((conn) => new Promise<void>((resolve) => conn.onClose(resolve)));
    const leaving: Array<Promise<void>> = [];
    for (const [i, conn] of conns.entries()) {
      if (gap > 0 && i > 0) await new Promise((resolve) => setTimeout(resolve, gap));
      leaving.push(this.closeWhenIdle(conn));
    }
    await Promise.all(leaving);
    // A peer that never answers the close handshake is cut after a bound.
    const cut = setTimeout(() => conns.forEach((c) => c.terminate()), 2000);
    await Promise.all(closed);
    clearTimeout(cut);
    this.logger.log({ msg: 'drain finished' });
  }

  /**
   * A connection's drain turn: new requests are refused, the ones being handled may answer (within
   * a bound), then `reconnect` and a 1012 close. A reply is never cut off by the close.
   */
  private async closeWhenIdle(conn: Connection): Promise<void> {
    this.closing.add(conn);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, IN_FLIGHT_BOUND_MS)));
    await Promise.race([conn.idle(), bound]);
    clearTimeout(timer);
    conn.send('reconnect', { reason: 'draining' });
    conn.close(CloseCode.ServiceRestart, 'draining');
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== this.options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // The token is checked before the upgrade completes: no frame of a bad connection is ever read.
    let user: Principal | null = null;
    let refused: string | undefined;
    try {
      user = this.options.authenticate(request);
    } catch (error) {
      // The authenticator logs and counts refused tokens, and its AppError's message is the close
      // reason; anything else is a bug, logged here.
      refused = 'unauthorized';
      if (error instanceof AppError) refused = error.message;
      else this.logger.error({ err: error, msg: 'authentication failed' });
    }
    this.server.handleUpgrade(request, socket, head, (ws) => {
      if (refused !== undefined) {
        ws.close(CloseCode.Unauthorized, refused);
      } else if (this.draining) {
        ws.close(CloseCode.ServiceRestart, 'draining');
      } else {
        this.accept(ws, user, request);
      }
    });
  }

  private accept(ws: WebSocket, user: Principal | null, request: IncomingMessage): void {
    const conn = new Connection(
      ws,
      user,
      {
        maxBufferedBytes: this.options.maxBufferedBytes,
        rate: this.options.rateLimit,
        stallMs: this.options.pingIntervalMs,
      },
      this.metrics,
      this,
    );
    this.connections.add(conn);
    // The kind is fixed for the connection's life: a refreshed token must be for the same user.
    this.metrics.connectionsOf(user !== null).inc();
    this.expiry.schedule(conn, user?.expiresAt);
    this.logger.debug({ connectionId: conn.id, userId: conn.userId, msg: 'connection opened' });
    this.setUp(conn, request);
  }

  /** A frame from `conn` (its socket calls this): held until the welcome, then handled. */
  receive(conn: Connection, raw: RawData, isBinary: boolean): void {
    const early = this.beforeWelcome.get(conn);
    if (!early) return this.handle(conn, raw, isBinary);
    if (early.push([raw, isBinary]) > this.options.rateLimit.burst) {
      conn.close(CloseCode.PolicyViolation, 'too many frames before welcome');
    }
  }

  /** `conn`'s socket closed (it calls this before its other close listeners). */
  closed(conn: Connection): void {
    this.metrics.connectionsOf(conn.user !== null).dec();
    this.logger.debug({ connectionId: conn.id, msg: 'connection closed' });
    this.connections.delete(conn);
    this.expiry.cancel(conn, conn.user?.expiresAt);
    this.dispatcher.disconnected(conn);
  }

  /**
   * Runs the connect listeners and the gateways' `handleConnection`, then welcomes once their
   * promises have settled. One that fails is logged; the connection goes on without it.
   */
  private setUp(conn: Connection, request: IncomingMessage): void {
    const setup = [
      ...this.connectListeners.map((listener) => attempt(() => listener(conn, request))),
      ...this.dispatcher.connected(conn, request),
    ];
    if (!setup.some((result) => result instanceof Promise)) return this.welcome(conn);
    // Frames that arrive meanwhile wait: the welcome is the first frame a client gets.
    this.beforeWelcome.set(conn, []);
    void Promise.allSettled(setup).then((results) => {
      for (const result of results) {
        if (result.status === 'rejected') {
          this.logger.error(
            { connectionId: conn.id, err: result.reason as unknown },
            'connection set-up failed',
          );
        }
      }
      this.welcome(conn);
    });
  }

  private welcome(conn: Connection): void {
    const early = this.beforeWelcome.get(conn) ?? [];
    this.beforeWelcome.delete(conn);
    conn.send('welcome', {
      connectionId: conn.id,
      replica: this.options.replicaId,
      userId: conn.userId,
    });
    for (const [raw, isBinary] of early) this.handle(conn, raw, isBinary);
  }

  private handle(conn: Connection, raw: RawData, isBinary: boolean): void {
    conn.missedPings = 0;
    const verdict = conn.limiter.take();
    if (verdict === 'abuse') {
      // Frames already in flight meet the closing socket: count the close once.
      if (conn.isOpen) this.metrics.rateLimitedClosed.inc();
      conn.close(CloseCode.PolicyViolation, 'rate limit exceeded');
      return;
    }
    if (verdict === 'limited') {
      this.metrics.rateLimitedRejected.inc();
      // Parsed only for its ref, so the client knows which request was refused (not applied).
      const ref = this.tooDeep(raw) ? undefined : refOf(parseQuietly(raw));
      return this.reject(conn, ref, new AppError('rate_limited', 'too many frames, slow down'));
    }
    if (isBinary) return this.refuseInput(conn, undefined, 'binary frames are not supported');
    // Before any parse: deep nesting costs later stages (validation recursion) far more than its size.
    if (this.tooDeep(raw)) {
      this.metrics.tooDeepRefusals.inc();
      return this.refuseInput(conn, undefined, jsonDepthMessage(this.options.maxJsonDepth));
    }
    let frame: unknown;
    try {
      // binaryType is 'nodebuffer' (the default): every frame arrives as one Buffer.
      frame = JSON.parse((raw as Buffer).toString());
    } catch {
      return this.refuseInput(conn, undefined, 'frame is not valid JSON');
    }
    if (!isPlainObject(frame) || typeof frame.event !== 'string') {
      return this.refuseInput(conn, undefined, 'a frame is {"event": string, "data": object}');
    }
    const data = frame.data ?? {};
    const ref = refOf(data);
    if (!isPlainObject(data)) return this.refuseInput(conn, ref, '"data" must be an object');
    const event = frame.event;
    if (!this.dispatcher.handles(event)) {
      return this.refuseInput(conn, ref, `unknown event "${event}"`, UNKNOWN_EVENT);
    }
    // A registered handler's name: bounded by the code, whatever clients send.
    this.metrics.frameIn(event).inc();
    if (this.closing.has(conn)) {
      // Its drain turn came: what it sends now is not handled, and it is told to send it again.
      return this.reject(
        conn,
        ref,
        new AppError(
          'unavailable',
          'this replica is shutting down: send it again after reconnecting',
        ),
      );
    }
    const maxInFlight = this.options.maxInFlight;
    if (conn.inFlightCount >= maxInFlight) {
      const what = 'too many requests unanswered on this connection';
      return this.reject(
        conn,
        ref,
        limitExceeded(this.metrics, 'WS_MAX_INFLIGHT', maxInFlight, what),
      );
    }
    this.dispatcher.dispatch(conn, event, data);
  }

  private tooDeep(raw: RawData): boolean {
    return exceedsJsonDepth(raw as Buffer, this.options.maxJsonDepth);
  }

  /** A frame that is not a usable request: `bad_request`, counted, logged once a minute at most. */
  private refuseInput(
    conn: Connection,
    ref: Ref | undefined,
    reason: string,
    label = INVALID_EVENT,
  ): void {
    this.metrics.frameIn(label).inc();
    const logged = reason.slice(0, 200); // an event name is client input
    this.badInput.note(conn.id, { connectionId: conn.id, userId: conn.userId, reason: logged });
    this.reject(conn, ref, new AppError('bad_request', reason));
  }

  private reject(conn: Connection, ref: Ref | undefined, error: AppError): void {
    conn.send('error', errorData(error, ref));
  }

  private beat(): void {
    for (const conn of this.connections) {
      if (conn.missedPings >= 2) {
        this.logger.debug({ connectionId: conn.id, msg: 'dropping silent client' });
        conn.terminate();
      } else {
        conn.missedPings++;
        conn.ping();
      }
    }
  }
}

function parseQuietly(raw: RawData): unknown {
  try {
    return (JSON.parse((raw as Buffer).toString()) as { data?: unknown }).data;
  } catch {
    return undefined;
  }
}
