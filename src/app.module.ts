import { Module } from '@nestjs/common';
import { ChannelsModule } from '@app/channels';
import { HistoryModule } from '@app/history';
import { RelayModule } from '@app/relay';
import { LoggerModule } from 'nestjs-pino';
import { ChatModule } from './chat/chat.module';
import { ConsoleModule } from './console/console.module';
import { AppConfig, ConfigModule } from './config';
import { ConnectionModule } from './connection/connection.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { NotificationsModule } from './notifications/notifications.module';
import { PresenceModule } from './presence/presence.module';
import { RoomsModule } from './rooms/rooms.module';
import { loggerOptions } from './logging/logger.options';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [
    ConfigModule,
    LoggerModule.forRootAsync({ inject: [AppConfig], useFactory: loggerOptions }),
    RelayModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        servers: config.natsServers,
        security: config.natsSecurity,
        name: config.replicaId,
      }),
    }),
    HistoryModule.forRootAsync({
      inject: [AppConfig],
      useFactory: ({ history }: AppConfig) => ({
        stream: history.stream,
        maxMsgsPerChannel: history.maxMessages,
        maxAgeMs: history.maxAgeMs,
        replicas: history.replicas,
      }),
    }),
    ChannelsModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ publishMaxInflight: config.publishMaxInflight }),
    }),
    ConnectionModule,
    ChatModule,
    NotificationsModule,
    PresenceModule,
    RoomsModule,
    ConsoleModule,
    HealthModule,
    MetricsModule,
    WebhooksModule,
  ],
})
export class AppModule {}
