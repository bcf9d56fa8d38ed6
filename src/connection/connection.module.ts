import { Module } from '@nestjs/common';
import { WsModule } from '@app/ws';
import { AuthModule, WsAuthenticator } from '../auth';
import { AppConfig } from '../config';
import { WS_PATH } from '@app/ws';
import { ClusterModule } from '../cluster';
import { ConnectionGateway } from './connection.gateway';
import { UserDisconnect } from './user-disconnect.service';

/**
 * The /ws endpoint: the hub with the contract's limits, the connection-level events, and ending a
 * user's sessions across the cluster.
 */
@Module({
  imports: [
    AuthModule,
    ClusterModule,
    WsModule.forRootAsync({
      imports: [AuthModule],
      inject: [AppConfig, WsAuthenticator],
      useFactory: (config: AppConfig, auth: WsAuthenticator) => ({
        path: WS_PATH,
        replicaId: config.replicaId,
        maxPayloadBytes: config.ws.maxPayloadBytes,
        maxBufferedBytes: config.ws.maxBufferedBytes,
        rateLimit: { perSecond: config.ws.ratePerSecond, burst: config.ws.rateBurst },
        maxJsonDepth: config.limits.jsonMaxDepth,
        maxInFlight: config.limits.maxInFlight,
        pingIntervalMs: config.ws.pingIntervalMs,
        drainWindowMs: config.drainWindowMs,
        authenticate: (request) => auth.authenticate(request),
      }),
    }),
  ],
  providers: [ConnectionGateway, UserDisconnect],
  exports: [UserDisconnect],
})
export class ConnectionModule {}
