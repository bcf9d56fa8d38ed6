import { Module, type OnModuleInit } from '@nestjs/common';
import { AuthModule } from '../auth';
import { PresenceCluster } from '../presence/presence-cluster';
import { PresenceModule } from '../presence/presence.module';
import { ConsoleController } from './console.controller';
import { ReplicaStatsReader } from './replica-stats';

/** The console page's API: development tokens and the cluster view (the page is static, at `/`). */
@Module({
  imports: [AuthModule, PresenceModule],
  controllers: [ConsoleController],
  providers: [ReplicaStatsReader],
})
export class ConsoleModule implements OnModuleInit {
  constructor(
    private readonly cluster: PresenceCluster,
    private readonly stats: ReplicaStatsReader,
  ) {}

  onModuleInit(): void {
    this.cluster.reportWith(() => this.stats.read());
  }
}
