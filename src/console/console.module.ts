import { Module } from '@nestjs/common';
import { AuthModule } from '../auth';
import { ClusterModule } from '../cluster';
import { ConsoleController } from './console.controller';

/** The console page's API: development tokens and the cluster view (the page is static, at `/`). */
@Module({
  imports: [AuthModule, ClusterModule],
  controllers: [ConsoleController],
})
export class ConsoleModule {}
