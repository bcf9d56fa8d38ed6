import { Logger, type OnModuleInit } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import {
  assertValidOptions,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type HistoryOptions,
  pageBounds,
} from './history-options';
import {
  type AppendOptions,
  type AppendResult,
  type ChannelHead,
  HistoryStore,
  type Replay,
} from './history-store';
import { JetStreamConnections } from './jetstream-connections';
import { isUnavailable, startupError, translate } from './jetstream-errors';
import { JetStreamPublisher } from './jetstream-publish';
import { JetStreamReads } from './jetstream-reads';
import { HistoryStream } from './jetstream-stream';
import type { OlderPage, OlderPageRequest } from './older-page';

/** How long start-up waits for JetStream (a cluster electing its leader) before failing. */
const STARTUP_RETRY_MS = 60_000;
/** Acks asked for per append within the request timeout (the first publish and its repeats). */
const ACK_ATTEMPTS = 3;

/**
 * History on a JetStream stream over `rt.>` that republishes every stored message to `live.>`, so
 * one publish both stores and relays, and replicas read seqs from the republish headers.
 * Every replica runs the same start-up; the stream's `created` time is the epoch.
 * Composes the stream set-up (`HistoryStream`), the publish path (`JetStreamPublisher`) and the
 * reads (`JetStreamReads`) over shared connections (`JetStreamConnections`).
 */
export class JetStreamHistory extends HistoryStore implements OnModuleInit {
  private readonly logger = new Logger(JetStreamHistory.name);
  private readonly connections: JetStreamConnections;
  private readonly stream: HistoryStream;
  private readonly publisher: JetStreamPublisher;
  private readonly reads: JetStreamReads;

  /**
   * @param connection the NATS connection, or a function resolving it once it is up (the relay
   *   connects in its own `onModuleInit`, which Nest may run after ours)
   * @param readConnection the connection replays read on, when it is not `connection`: a read
   *   must never fill the live relay's pending buffer, which gets a connection cut off
   */
  constructor(
    connection: NatsConnection | (() => Promise<NatsConnection>),
    private readonly options: HistoryOptions,
    readConnection?: () => Promise<NatsConnection>,
  ) {
    super();
    assertValidOptions(options);
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.connections = new JetStreamConnections(connection, readConnection, {
      stream: options.stream,
      pages: pageBounds(options),
      timeoutMs,
      attemptMs: timeoutMs / ACK_ATTEMPTS,
    });
    this.stream = new HistoryStream(options, async () => (await this.connections.api()).jsm);
    this.publisher = new JetStreamPublisher(this.connections, this.stream, timeoutMs);
    this.reads = new JetStreamReads(this.connections, this.stream, options, timeoutMs);
  }

  /**
   * Creates the stream, or brings an existing one to our limits. A NATS cluster that is still
   * electing its JetStream leader refuses for a while (all nodes start together under compose), so
   * start-up retries for a bounded time, saying so, before it fails.
   */
  async onModuleInit(): Promise<void> {
    const deadline = Date.now() + STARTUP_RETRY_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.stream.ensure();
        // Open the read connection now: a first resume must not wait for a connect.
        await this.connections.reader();
        return;
      } catch (err) {
        const translated = translate(err, 'create the history stream');
        // A refusal such as overlapping subjects will not go away by waiting: say so now.
        if (!isUnavailable(translated)) throw startupError(this.options.stream, translated);
        if (Date.now() > deadline) throw translated;
        this.logger.warn({
          attempt,
          err: (err as Error).message,
          msg: 'JetStream not ready, retrying',
        });
        await new Promise((resolve) => setTimeout(resolve, Math.min(250 * attempt, 2000)));
      }
    }
  }

  override publishStored(
    channel: string,
    data: Uint8Array,
    headers?: Readonly<Record<string, string>>,
    options?: AppendOptions,
  ): Promise<AppendResult> {
    return this.publisher.publishStored(channel, data, headers, options);
  }

  override head(channel: string): Promise<ChannelHead> {
    return this.reads.head(channel);
  }

  override olderPage(channel: string, request: OlderPageRequest): Promise<OlderPage> {
    return this.reads.olderPage(channel, request);
  }

  override replay(channel: string, since: number, epoch?: string): Promise<Replay> {
    return this.reads.replay(channel, since, epoch);
  }
}
