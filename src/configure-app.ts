import type { INestApplication } from '@nestjs/common';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { RealtimeWsAdapter, WsHub, WsMetrics, createValidationPipe } from '@app/ws';
import { Logger } from 'nestjs-pino';
import { AppConfig } from './config';
import { HttpErrorFilter } from './http/http-error.filter';
import { jsonBodyOptions } from './http/json-body-options';
import { setupOpenApi } from './http/openapi/openapi';
import { consoleAssetsDir } from './console/console-assets';
import { SafeNatsDeserializer } from './rpc/safe-nats.deserializer';

/**
 * Everything main.ts does to the app before `listen`, shared with the e2e tests so they cannot
 * drift: logger, our WS adapter, validation and errors, body size and depth limits, OpenAPI at /docs, and (with
 * NATS) the microservice that takes pushes from other services.
 */
export async function configureApp(app: INestApplication): Promise<INestApplication> {
  const config = app.get(AppConfig);
  app.useLogger(app.get(Logger));
  app.useWebSocketAdapter(new RealtimeWsAdapter(app, app.get(WsHub)));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpErrorFilter());
  const express = app as NestExpressApplication;
  express.useBodyParser(
    'json',
    jsonBodyOptions(config.httpMaxBodyBytes, config.limits.jsonMaxDepth, app.get(WsMetrics)),
  );
  const assets = consoleAssetsDir();
  if (assets) express.useStaticAssets(assets, { index: 'index.html', maxAge: '1h' });
  else app.get(Logger).warn('console page not built: `npm run build` serves it at /', 'Console');
  setupOpenApi(app);
  if (config.natsServers.length > 0) {
    app.connectMicroservice<MicroserviceOptions>(
      {
        transport: Transport.NATS,
        options: {
          servers: config.natsServers,
          name: `${config.replicaId}-rpc`,
          maxReconnectAttempts: -1,
          deserializer: new SafeNatsDeserializer(config.limits.jsonMaxDepth, app.get(WsMetrics)),
        },
      },
      // Not the HTTP app's global pipe and filter: NATS handlers declare their own (RPC errors).
      { inheritAppConfig: false },
    );
    await app.startAllMicroservices();
  }
  return app;
}
