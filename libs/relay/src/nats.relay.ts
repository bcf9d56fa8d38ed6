import { Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppError } from '@app/core';
import {
  connect,
  DebugEvents,
  ErrorCode,
  Events,
  headers as natsHeaders,
  NatsError,
  type ConnectionOptions,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Status,
  type Subscription,
} from 'nats';
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
  private nc: NatsConnection | undefined;
  private connecting: Promise<void> | undefined;
  /** Connections opened for other libs (`openConnection`): closed with the relay's. */
  private readonly others = new Set<NatsConnection>();
  /** Those of `others` that are disconnected now: the replica cannot serve fully meanwhile. */
  private readonly othersAway = new Set<NatsConnection>();
  /** The relay connection's own state; `state` also counts the others. */
  private ownState: RelayState = 'reconnecting';
  private currentState: RelayState = 'reconnecting';

  constructor(private readonly options: RelayOptions & { servers: string[] }) {
    super();
  }

  /**
   * The underlying connection, for libs that need more than pub/sub (JetStream history, presence).
   * Available once `onModuleInit` has resolved; global modules such as `RelayModule` are
   * initialised before the modules that import them.
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

  /** Connects (idempotent). Resolves on the first successful connection. */
  onModuleInit(): Promise<void> {
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
    const nc = await connect(this.connectionOptions(`${this.options.name}-${purpose}`));
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

  override publish(subject: string, message: RelayMessage): Promise<void> {
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

  override async flush(): Promise<void> {
    const nc = this.connection;
    await nc.flush().catch((err: unknown) => {
      throw toAppError(err);
    });
  }

  override onStateChange(listener: (state: RelayState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** What every connection of this replica connects with. */
  private connectionOptions(name: string): ConnectionOptions {
    return {
      servers: this.options.servers,
      name,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: true,
      // Async stack traces cost two Error objects per request (each JetStream publish): measured.
      noAsyncTraces: true,
      reconnectTimeWait: this.options.reconnectTimeWait ?? DEFAULT_RECONNECT_TIME_WAIT_MS,
      pingInterval: this.options.pingInterval ?? DEFAULT_PING_INTERVAL_MS,
    };
  }

  private async connect(): Promise<void> {
    const { name } = this.options;
    const nc = await connect(this.connectionOptions(name));
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
    const message: RelayMessage =
      msg.headers === undefined
        ? { data: msg.data }
        : { data: msg.data, headers: fromNatsHeaders(msg.headers) };
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
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state);
      } catch (err) {
        this.logger.error({ msg: 'relay state listener threw', state, err });
      }
    }
  }
}

function statusFields(status: Status): Record<string, unknown> {
  return typeof status.data === 'object'
    ? { type: status.type, ...status.data }
    : { type: status.type, data: status.data, permissionContext: status.permissionContext };
}

function toNatsHeaders(record: Readonly<Record<string, string>>): MsgHdrs {
  const hdrs = natsHeaders();
  for (const [key, value] of Object.entries(record)) hdrs.set(key, value);
  return hdrs;
}

/** First value of each header: our messages never repeat a header. */
function fromNatsHeaders(hdrs: MsgHdrs): Record<string, string> {
  const record: Record<string, string> = {};
  for (const key of hdrs.keys()) record[key] = hdrs.get(key);
  return record;
}

// NatsError.code is typed string; the enum value is what nats.js puts there.
const MAX_PAYLOAD_EXCEEDED: string = ErrorCode.MaxPayloadExceeded;

function toAppError(err: unknown): AppError {
  if (err instanceof NatsError && err.code === MAX_PAYLOAD_EXCEEDED) {
    return new AppError('bad_request', "message exceeds the broker's maximum payload");
  }
  return new AppError('unavailable', 'message broker unreachable, retry later');
}
