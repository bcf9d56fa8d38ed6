import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ClusterModule } from '../cluster';
import { ConnectionQuota } from './connection-quota';
import { PresenceController } from './presence.controller';
import { PresenceGateway } from './presence.gateway';
import { PresenceService } from './presence.service';

@Module({
  imports: [AuthModule, ClusterModule],
  controllers: [PresenceController],
  providers: [ConnectionQuota, PresenceService, PresenceGateway],
  exports: [PresenceService],
})
export class PresenceModule {}
