import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ConnectionQuota } from './connection-quota';
import { PresenceCluster } from './presence-cluster';
import { PresenceController } from './presence.controller';
import { PresenceGateway } from './presence.gateway';
import { PresenceService } from './presence.service';

@Module({
  imports: [AuthModule],
  controllers: [PresenceController],
  providers: [PresenceCluster, ConnectionQuota, PresenceService, PresenceGateway],
  exports: [PresenceService, PresenceCluster],
})
export class PresenceModule {}
