import { Injectable, Logger } from '@nestjs/common';
import { Relay } from '@app/relay';
import { encode } from './cluster.messages';

/** Publishes replica-to-replica messages, best effort: the cluster's state is rebuilt on reconnect. */
@Injectable()
export class ClusterPublisher {
  private readonly logger = new Logger(ClusterPublisher.name);

  constructor(private readonly relay: Relay) {}

  /** Publishes `message` as JSON, logging instead of failing while the broker is away. */
  async send(subject: string, message: object): Promise<void> {
    try {
      await this.relay.publishEphemeral(subject, { data: encode(message) });
    } catch (error) {
      this.logger.debug({ subject, err: (error as Error).message, msg: 'cluster publish failed' });
    }
  }
}
