import { Module } from '@nestjs/common';
import { PresenceModule } from '../presence/presence.module';
import { WebhooksService } from './webhooks.service';

/** Webhooks for room and user transitions (docs/protocol.md, Webhooks); inert without `WEBHOOK_URL`. */
@Module({
  imports: [PresenceModule],
  providers: [WebhooksService],
})
export class WebhooksModule {}
