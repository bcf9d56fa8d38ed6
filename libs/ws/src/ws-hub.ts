import type { IncomingMessage } from 'node:http';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type BeforeApplicationShutdown,
} from '@nestjs/common';
import type { RawData, WebSocket } from 'ws';
import { AppError, CloseCode, type Principal } from '@app/core';
import { attempt } from './attempt';
import { BadInputLog } from './bad-input-log';
import { Connection, type ConnectionOwner } from './connection';
import { Drain } from './drain';
import { ExpiryWheel } from './expiry-wheel';
import { FrameIntake } from './frame-intake';
import { Heartbeat } from './heartbeat';
import { UpgradeGate } from './upgrade-gate';
import { WsDispatcher } from './ws-dispatcher';
import { WsMetrics } from './ws-metrics';
import { WS_OPTIONS, type WsOptions } from './ws-options';

/**
 * Runs for each accepted connection before its `welcome`; a returned promise delays the welcome
 * until it settles (e.g. until the user's inbox subscription is live), so that nothing a client
 * is sent after its welcome can be missed.
 */
type ConnectListener = (conn: Connection, request: IncomingMessage) => unknown;

/** Runs after `auth.refresh` replaced a connection's principal (rights may have shrunk). */
type RefreshListener = (conn: Connection) => unknown;

/**
 * The /ws endpoint: the open connections, each one's set-up and `welcome`, token refresh and
 * expiry. Its parts do the rest: `UpgradeGate` (upgrade and authentication before any frame),
 * `FrameIntake` (framing and limits), `Heartbeat`, `Drain`. Nest's adapter API is a thin shim over
 * it (see `RealtimeWsAdapter`), so the rules here hold for every gateway on the path.
 */
@Injectable()
export class WsHub implements BeforeApplicationShutdown, ConnectionOwner {
  private readonly logger = new Logger(WsHub.name);
  private readonly connections = new Set<Connection>();
  private readonly connectListeners: ConnectListener[] = [];
  private readonly refreshListeners: RefreshListener[] = [];
  /** Frames of connections whose setup is not done yet, handled right after their welcome. */
  private readonly beforeWelcome = new WeakMap<Connection, Array<[RawData, boolean]>>();
  private readonly expiry = new ExpiryWheel<Connection>((conn) =>
    conn.close(CloseCode.Unauthorized, 'token expired'),
  );
  private readonly gate: UpgradeGate;
  private readonly intake: FrameIntake;
  private readonly heartbeat = new Heartbeat(this.connections, this.logger);
  private readonly drainer = new Drain(this.logger);
  private drainPromise?: Promise<void>;

  constructor(
    @Inject(WS_OPTIONS) private readonly options: WsOptions,
    private readonly dispatcher: WsDispatcher,
    @Optional() readonly metrics: WsMetrics = new WsMetrics(),
  ) {
    this.gate = new UpgradeGate(
      options,
      () => this.draining,
      (ws, user, request) => this.accept(ws, user, request),
      this.logger,
    );
    this.intake = new FrameIntake(
      options,
      dispatcher,
      this.metrics,
      new BadInputLog(WsHub.name),
      (conn) => this.drainer.isLeaving(conn),
    );
  }

  get size(): number {
    return this.connections.size;
  }

  get draining(): boolean {
    return this.drainPromise !== undefined;
  }

  /** Serves upgrades of `path` on `httpServer`; called once by the adapter. */
  attach(httpServer: NodeJS.EventEmitter): void {
    this.gate.attach(httpServer);
    this.heartbeat.start(this.options.pingIntervalMs);
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
    this.logFailures(conn, results, 'refresh listener failed');
  }

  /** Every open connection (an operator's disconnect of a user looks for theirs). */
  all(): IterableIterator<Connection> {
    return this.connections.values();
  }

  /**
   * Stops taking connections, then sends every client `reconnect` and a 1012 close, spread evenly
   * over `windowMs` so that the other replicas are not hit by all of them at once.
   */
  drain(windowMs: number): Promise<void> {
    this.drainPromise ??= this.drainer.run([...this.connections], windowMs);
    return this.drainPromise;
  }

  async beforeApplicationShutdown(signal?: string): Promise<void> {
    // A signal means a real stop (spread the closes); app.close() in tests closes at once.
    await this.drain(signal ? this.options.drainWindowMs : 0);
  }

  close(): void {
    this.heartbeat.stop();
    this.expiry.stop();
    for (const conn of this.connections)
      conn.close(CloseCode.ServiceRestart, 'server shutting down');
  }

  /** A frame from `conn` (its socket calls this): held until the welcome, then handled. */
  receive(conn: Connection, raw: RawData, isBinary: boolean): void {
    const early = this.beforeWelcome.get(conn);
    if (!early) return this.intake.handle(conn, raw, isBinary);
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
      this.logFailures(conn, results, 'connection set-up failed');
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
    for (const [raw, isBinary] of early) this.intake.handle(conn, raw, isBinary);
  }

  private logFailures(
    conn: Connection,
    results: Array<PromiseSettledResult<unknown>>,
    what: string,
  ): void {
    for (const result of results) {
      if (result.status === 'rejected') {
        this.logger.error({ connectionId: conn.id, err: result.reason as unknown }, what);
      }
    }
  }
}
