import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { BrokerConnections, Relay } from '@app/relay';
import { WsHub } from '@app/ws';
import { Registry } from 'prom-client';
import { AppConfig } from '../config';
import { ClusterMembership } from '../cluster';
import { PresenceService } from '../presence/presence.service';
import { InMemoryHolderStore, type HolderStore } from './holder-store';
import { InMemoryWebhookQueue } from './in-memory.webhook-queue';
import { JetStreamHolderStore } from './jetstream.holder-store';
import { JetStreamWebhookQueue } from './jetstream.webhook-queue';
import { TransitionTracker } from './transition-tracker';
import type { WebhookQueue } from './webhook-queue';
import { WebhookSender } from './webhook-sender';

/**
 * Webhooks, when `WEBHOOK_URL` is set: decides cluster-wide transitions from this replica's users
 * and rooms, queues them (JetStream with NATS, memory embedded), and sends what the queue hands
 * this replica. Without `WEBHOOK_URL` it does nothing and creates nothing on the broker.
 */
@Injectable()
export class WebhooksService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(WebhooksService.name);
  private queue?: WebhookQueue;
  private sender?: WebhookSender;
  private tracker?: TransitionTracker;
  private sweepTimer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly relay: Relay,
    private readonly hub: WsHub,
    private readonly presence: PresenceService,
    private readonly cluster: ClusterMembership,
    private readonly registry: Registry,
    /** Only on NATS: queue and holders then live on JetStream. Named: a union's type is `Object`. */
    @Optional() @Inject(BrokerConnections) private readonly broker: BrokerConnections | null,
  ) {}

  async onModuleInit(): Promise<void> {
    const options = this.config.webhooks;
    if (!options) return;
    const broker = this.broker;
    // As many copies as the history keeps: losing a NATS node loses neither.
    const { replicas } = this.config.history;
    const queue = (this.queue = broker
      ? new JetStreamWebhookQueue(() => broker.primary(), replicas)
      : new InMemoryWebhookQueue());
    const store: HolderStore = broker
      ? new JetStreamHolderStore(() => broker.primary(), replicas)
      : new InMemoryHolderStore();
    const sender = (this.sender = new WebhookSender(options, this.registry));
    const tracker = (this.tracker = new TransitionTracker({
      instance: this.cluster.instance,
      graceMs: this.config.presence.graceMs,
      store,
      report: (event, dedupeId) =>
        queue.enqueue(
          options.urls.map((url) => ({ url, event })),
          dedupeId,
        ),
    }));
    this.hub.onConnect((conn) => {
      const userId = conn.userId;
      if (!userId) return;
      tracker.add('user', userId);
      conn.onClose(() => tracker.remove('user', userId));
    });
    this.presence.onLocalOccupancy((room, occupied) =>
      occupied ? tracker.add('room', room) : tracker.remove('room', room),
    );
    // A replica that died or left: what it held is released once the grace period has passed
    // (its users may be reconnecting elsewhere meanwhile).
    this.cluster.onGone(() => this.later(this.config.presence.graceMs));
    // After a broker outage: re-assert what this replica holds, then sweep. (The cluster gives
    // every peer a fresh window in its own listener; see ClusterMembership.)
    this.relay.onReconnected(() => {
      tracker.reassert();
      this.later(0);
    });
    // After a restart of the whole cluster, holders nobody will ever report gone are left in the
    // store: once every live replica has been heard from, release them.
    this.later(this.config.presence.heartbeatMs * 4);
    await queue.consume((item) => sender.take(item));
    this.logger.log({ urls: options.urls.length, msg: 'webhooks on' });
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.sweepTimer);
    this.tracker?.close();
    await this.sender?.close();
    await this.queue?.close();
  }

  /** Releases what instances no longer alive held, `delayMs` from now. */
  private later(delayMs: number): void {
    const timer = setTimeout(() => {
      void this.cluster
        .members()
        .then((members) => this.tracker?.forgetAllBut(new Set(members.map((m) => m.instance))))
        .catch((error: unknown) =>
          this.logger.warn({ err: (error as Error).message, msg: 'holder sweep failed' }),
        );
    }, delayMs);
    timer.unref();
  }
}
