import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppError } from '@app/core';
import {
  connect,
  DebugEvents,
  ErrorCode,
  Events,
  NatsError,
  type ConnectionOptions,
  type Msg,
  type NatsConnection,
  type Status,
  type Subscription,
} from 'nats';
import { natsConnectionOptions } from './nats-connection';
import { natsRefusal } from './nats-refusal';
import { headersOf, toNatsHeaders } from './nats-headers';
import { Relay, type RelayHandler, type RelayMessage, type RelayState } from './relay';
import type { RelayOptions } from './relay.options';
import { assertValidSubject } from './subjects';

const DEFAULT_RECONNECT_TIME_WAIT_MS = 1_000;
const DEFAULT_PING_INTERVAL_MS = 10_000;
// Drain waits for the server; a replica shutting down while NATS is gone must still exit.
const DRAIN_TIMEOUT_MS = 5_000;

interface SubjectSubscription {
  readonly sub: Subscription;
  // Wrapper objects, so the same function subscribed twice is two handlers, removed one by one.
  readonly handlers: Set<{ readonly onMessage: RelayHandler }>;
}

/**
 * The relay between replicas: one `nats` connection, no queue group (every interested replica gets
 * every message), one NATS subscription per subject however many local handlers it has.
 *
 * Connects in `onModuleInit` and waits for the first connection however long it takes; later
 * outages are retried forever while nats.js buffers publishes. Drains in `onApplicationShutdown`.
 */
export class NatsRelay extends Relay implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(NatsRelay.name);
  private readonly subjects = new Map<string, SubjectSubscription>();
  private readonly stateListeners = new Set<(state: RelayState) => void>();
  private readonly reconnectedListeners = new Set<() => void>();
  /** Whether `state` has been `connected` before: the next `connected` is then a comeback. */
  private connectedBefore = false;
  private nc: NatsConnection | undefined;
  private connecting: Promise<NatsConnection> | undefined;
  /** Connections opened for other libs (`openConnection`): closed with the relay's. */
  private readonly others = new Set<NatsConnection>();
  /** Those of `others` that are disconnected now: the replica cannot serve fully meanwhile. */
  private readonly othersAway = new Set<NatsConnection>();
  /** The relay connection's own state; `state` also counts the others. */
  private ownState: RelayState = 'reconnecting';
  private currentState: RelayState = 'reconnecting';
  /** The flush the callers of this turn of the event loop share (see `flush`). */
  private nextFlush: Promise<void> | undefined;
  private shuttingDown = false;

  constructor(private readonly options: RelayOptions & { servers: string[] }) {
    super();
  }

  /**
   * The underlying connection, once `onModuleInit` has resolved. Other libs do not read it: they
   * get connections through `BrokerConnections` (`connected`, `openConnection`), which wait for it.
   */
  get connection(): NatsConnection {
    if (this.nc === undefined) {
      throw new Error('NatsRelay is not connected yet: onModuleInit has not completed');
    }
    return this.nc;
  }

  /** `connected` only while every connection of this replica is (history reads need theirs). */
  override get state(): RelayState {
    return this.currentState;
  }

  /** Connects. Resolves on the first successful connection. */
  async onModuleInit(): Promise<void> {
    await this.connected();
  }

  /**
   * The relay's connection once it is up. The first call (this relay's start-up, or a store's that
   * ran first) starts connecting; every call shares that one attempt.
   */
  connected(): Promise<NatsConnection> {
    this.connecting ??= this.connect();
    return this.connecting;
  }

  /**
   * Opens another connection to the same servers with the same options (credentials, TLS,
   * reconnects), for traffic that must not share the relay's fate: a connection the server cuts
   * off as a slow consumer takes every subscription on it along. `purpose` names it in the
   * server's monitoring. It is closed when the relay shuts down.
   */
  async openConnection(purpose: string): Promise<NatsConnection> {
    // As the first connection: waits for the broker, and a refusal (credentials, TLS) is final.
    const nc = await this.connectUntilUp(`${this.options.name}-${purpose}`);
    this.others.add(nc);
    this.followOther(nc, purpose).catch((err: unknown) =>
      this.logger.error({ msg: 'nats status watcher failed', purpose, err }),
    );
    nc.closed()
      .then((err) => {
        this.others.delete(nc);
        this.othersAway.delete(nc);
        this.refreshState();
        if (err) this.logger.warn({ msg: 'nats connection closed on error', purpose, err });
      })
      .catch(() => undefined);
    this.logger.log({ msg: 'nats connected', server: nc.getServer(), purpose });
    return nc;
  }

  /** Drains: pending subscriptions and publishes are flushed, then the connection closes. */
  async onApplicationShutdown(): Promise<void> {
    this.shuttingDown = true;
    // The others carry requests only (history reads): nothing to flush.
    await Promise.all([...this.others].map((other) => other.close()));
    const nc = this.nc;
    if (nc === undefined || nc.isClosed()) return;
    if (this.currentState === 'connected' && !nc.isDraining()) {
      const drained = await Promise.race([
        nc.drain().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), DRAIN_TIMEOUT_MS).unref()),
      ]);
      if (!drained) this.logger.warn({ msg: 'nats drain did not complete, closing' });
    }
    if (!nc.isClosed()) await nc.close();
    await nc.closed();
  }

  override publishEphemeral(subject: string, message: RelayMessage): Promise<void> {
    // The executor runs synchronously, so publishes keep the caller's order; a throw rejects.
    return new Promise((resolve) => {
      assertValidSubject(subject, 'publish');
      const nc = this.connection;
      const hdrs = message.headers === undefined ? undefined : toNatsHeaders(message.headers);
      try {
        nc.publish(subject, message.data, hdrs === undefined ? undefined : { headers: hdrs });
      } catch (err) {
        throw toAppError(err);
      }
      resolve();
    });
  }

  override subscribe(subject: string, onMessage: RelayHandler): () => void {
    assertValidSubject(subject, 'subscribe');
    const nc = this.connection;
    let entry = this.subjects.get(subject);
    // A subscription the server refused (permissions) is closed by nats.js: open a new one.
    if (entry === undefined || entry.sub.isClosed()) {
      const handlers: SubjectSubscription['handlers'] = entry?.handlers ?? new Set();
      let sub: Subscription;
      try {
        sub = nc.subscribe(subject, {
          callback: (err, msg) => this.dispatch(subject, handlers, err, msg),
        });
      } catch (err) {
        throw toAppError(err);
      }
      entry = { sub, handlers };
      this.subjects.set(subject, entry);
    }
    const { handlers } = entry;
    const handler = { onMessage };
    handlers.add(handler);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      handlers.delete(handler);
      const current = this.subjects.get(subject);
      if (handlers.size > 0 || current?.handlers !== handlers) return;
      this.subjects.delete(subject);
      if (!current.sub.isClosed()) current.sub.unsubscribe();
    };
  }

  /**
   * Callers within one turn of the event loop share one PING, written after all their SUBs:
   * nats.js writes each flush's PING to the socket at once, and in a reconnect storm every new
   * connection subscribes to its inbox and flushes before its welcome (one write per connection
   * was 8.5 % of a survivor's CPU in `npm run bench -- --storm --quick`).
   */
  override flush(): Promise<void> {
    this.nextFlush ??= new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      this.nextFlush = undefined;
      await this.connection.flush().catch((err: unknown) => {
        throw toAppError(err);
      });
    });
    return this.nextFlush;
  }

  override onStateChange(listener: (state: RelayState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  override onReconnected(listener: () => void): () => void {
    this.reconnectedListeners.add(listener);
    return () => this.reconnectedListeners.delete(listener);
  }

  /**
   * What every connection of this replica connects with: servers, credentials and TLS from the one
   * builder (`natsConnectionOptions`), so a further connection for other work reuses them as is.
   */
  private connectionOptions(name: string): ConnectionOptions {
    return {
      ...natsConnectionOptions(this.options.servers, name, this.options.security),
      maxReconnectAttempts: -1,
      // Async stack traces cost two Error objects per request (each JetStream publish): measured.
      noAsyncTraces: true,
      reconnectTimeWait: this.reconnectTimeWait,
      pingInterval: this.options.pingInterval ?? DEFAULT_PING_INTERVAL_MS,
    };
  }

  /**
   * Waits for the first connection however long the broker takes to come up, but not for what
   * waiting cannot fix: nats.js's `waitOnFirstConnect` would retry refused credentials or a server
   * without TLS forever, so the first connection is retried here and a refusal ends start-up.
   */
  private async connectUntilUp(name: string): Promise<NatsConnection> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await connect(this.connectionOptions(name));
      } catch (err) {
        const refusal = natsRefusal(err, this.options.security ?? {});
        if (refusal !== undefined) throw refusal;
        if (this.shuttingDown) throw new Error(`NatsRelay shut down before ${name} connected`);
        if (attempt === 1) {
          this.logger.warn({
            msg: 'nats not reachable yet, retrying',
            name,
            reason: messageOf(err),
          });
        }
        await delay(this.reconnectTimeWait);
      }
    }
  }

  private get reconnectTimeWait(): number {
    return this.options.reconnectTimeWait ?? DEFAULT_RECONNECT_TIME_WAIT_MS;
  }

  private async connect(): Promise<NatsConnection> {
    const { name } = this.options;
    const nc = await this.connectUntilUp(name);
    this.nc = nc;
    this.watchStatus(nc).catch((err: unknown) =>
      this.logger.error({ msg: 'nats status watcher failed', err }),
    );
    nc.closed()
      .then((err) => {
        if (err) this.logger.error({ msg: 'nats connection closed on error', err });
        else this.logger.log({ msg: 'nats connection closed', name });
        this.setState('closed');
      })
      .catch(() => undefined);
    this.logger.log({ msg: 'nats connected', server: nc.getServer(), name });
    this.setState('connected');
    return nc;
  }

  /**
   * Logs connection events and follows the state. nats.js 2.x has no client-side slow-consumer
   * status: the server cuts a slow consumer off, which shows here as a disconnect and reconnect.
   */
  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      const fields = statusFields(status);
      switch (status.type) {
        case Events.Disconnect:
          this.logger.warn({ msg: 'nats disconnected', ...fields });
          this.setState('reconnecting');
          break;
        case Events.Reconnect:
          this.logger.log({ msg: 'nats reconnected', ...fields });
          this.setState('connected');
          break;
        case Events.LDM:
          this.logger.warn({ msg: 'nats server entering lame duck mode', ...fields });
          break;
        case Events.Error:
          this.logger.warn({ msg: 'nats async error', ...fields });
          break;
        case DebugEvents.StaleConnection:
          this.logger.warn({ msg: 'nats connection stale, reconnecting', ...fields });
          break;
        default:
          this.logger.debug({ msg: 'nats status', ...fields });
      }
    }
  }

  private dispatch(
    subject: string,
    handlers: SubjectSubscription['handlers'],
    err: NatsError | null,
    msg: Msg,
  ): void {
    if (err) {
      this.logger.warn({ msg: 'nats subscription error', subject, err });
      return;
    }
    const headers = headersOf(msg);
    const message: RelayMessage =
      headers === undefined ? { data: msg.data } : { data: msg.data, headers };
    // A snapshot, so handlers added or removed by a handler do not disturb this delivery.
    for (const handler of [...handlers]) {
      if (!handlers.has(handler)) continue;
      try {
        handler.onMessage(message, msg.subject);
      } catch (error) {
        this.logger.error({ msg: 'relay handler threw', subject: msg.subject, err: error });
      }
    }
  }

  /** Follows another connection's state into `state`, logging as the relay's own does. */
  private async followOther(nc: NatsConnection, purpose: string): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) {
        this.logger.warn({ msg: 'nats disconnected', purpose, ...statusFields(status) });
        this.othersAway.add(nc);
      } else if (status.type === Events.Reconnect) {
        this.logger.log({ msg: 'nats reconnected', purpose, ...statusFields(status) });
        this.othersAway.delete(nc);
      } else continue;
      this.refreshState();
    }
  }

  private setState(state: RelayState): void {
    this.ownState = state;
    this.refreshState();
  }

  private refreshState(): void {
    const own = this.ownState;
    const state = own === 'connected' && this.othersAway.size > 0 ? 'reconnecting' : own;
    if (state === this.currentState) return;
    this.currentState = state;
    for (const listener of [...this.stateListeners]) this.notify(() => listener(state), state);
    if (state !== 'connected') return;
    if (this.connectedBefore) {
      for (const listener of [...this.reconnectedListeners]) this.notify(listener, 'reconnected');
    }
    this.connectedBefore = true;
  }

  /** A listener that throws is logged and does not keep the others from hearing the news. */
  private notify(listener: () => void, state: string): void {
    try {
      listener();
    } catch (err) {
      this.logger.error({ msg: 'relay state listener threw', state, err });
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function statusFields(status: Status): Record<string, unknown> {
  return typeof status.data === 'object'
    ? { type: status.type, ...status.data }
    : { type: status.type, data: status.data, permissionContext: status.permissionContext };
}

// NatsError.code is typed string; the enum value is what nats.js puts there.
const MAX_PAYLOAD_EXCEEDED: string = ErrorCode.MaxPayloadExceeded;

function toAppError(err: unknown): AppError {
  if (err instanceof NatsError && err.code === MAX_PAYLOAD_EXCEEDED) {
    return new AppError('bad_request', "message exceeds the broker's maximum payload");
  }
  return new AppError('unavailable', 'message broker unreachable, retry later');
}
