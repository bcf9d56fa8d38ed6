import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import { type AckTiming, AckedPublisher } from './acked-publish';
import type { PageBounds } from './history-options';
import { JetStreamPageReader } from './jetstream-page-reader';

/** What the history uses on its main connection (the relay's). */
export interface JetStreamClients {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** Appends: many acks in flight on this connection. */
  readonly acks: AckedPublisher;
}

export interface JetStreamConnectionOptions extends AckTiming {
  readonly stream: string;
  readonly pages: PageBounds;
}

/**
 * The history's clients, opened on first use and again after a failed open: appends and stream
 * management on the main connection, page reads on the read connection when there is one.
 */
export class JetStreamConnections {
  private clients?: Promise<JetStreamClients>;
  private open?: JetStreamClients;
  private pages?: Promise<JetStreamPageReader>;

  /**
   * @param connection the NATS connection, or a function resolving it once it is up (the relay
   *   connects in its own `onModuleInit`, which Nest may run after ours)
   * @param readConnection the connection replays read on, when it is not `connection`: a read
   *   must never fill the live relay's pending buffer, which gets a connection cut off
   */
  constructor(
    private readonly connection: NatsConnection | (() => Promise<NatsConnection>),
    private readonly readConnection: (() => Promise<NatsConnection>) | undefined,
    private readonly options: JetStreamConnectionOptions,
  ) {}

  /** Once open: a publish then goes out in the caller's own tick, so a message's appends leave together. */
  get opened(): JetStreamClients | undefined {
    return this.open;
  }

  api(): Promise<JetStreamClients> {
    this.clients ??= this.openClients().catch((err: unknown) => {
      this.clients = undefined; // the next call tries again
      throw err;
    });
    return this.clients;
  }

  /** Reads go on `readConnection` (its own JetStream API client) when there is one. */
  reader(): Promise<JetStreamPageReader> {
    this.pages ??= this.openReader().catch((err: unknown) => {
      this.pages = undefined; // the next call tries again
      throw err;
    });
    return this.pages;
  }

  private async openReader(): Promise<JetStreamPageReader> {
    const { stream, pages, timeoutMs } = this.options;
    if (!this.readConnection) {
      const [nc, { jsm }] = await Promise.all([this.resolveConnection(), this.api()]);
      return new JetStreamPageReader(nc, jsm, stream, pages, timeoutMs);
    }
    const nc = await this.readConnection();
    const jsm = await nc.jetstreamManager({ timeout: timeoutMs, checkAPI: false });
    return new JetStreamPageReader(nc, jsm, stream, pages, timeoutMs);
  }

  private async resolveConnection(): Promise<NatsConnection> {
    return typeof this.connection === 'function' ? await this.connection() : this.connection;
  }

  private async openClients(): Promise<JetStreamClients> {
    const nc = await this.resolveConnection();
    const { timeoutMs } = this.options;
    this.open = {
      js: nc.jetstream({ timeout: timeoutMs }),
      // checkAPI off: start-up's stream create already proves JetStream is there, in one request.
      jsm: await nc.jetstreamManager({ timeout: timeoutMs, checkAPI: false }),
      acks: new AckedPublisher(nc, this.options),
    };
    return this.open;
  }
}
