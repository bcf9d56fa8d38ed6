import { Module } from '@nestjs/common';
import { ClusterModule } from '../cluster';
import { PresenceModule } from '../presence/presence.module';
import { WebhooksService } from './webhooks.service';

/** Webhooks for room and user transitions (docs/protocol.md, Webhooks); inert without `WEBHOOK_URL`. */
@Module({
  imports: [ClusterModule, PresenceModule],
  providers: [WebhooksService],
})
export class WebhooksModule {}
