import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { MetricsController } from './metrics.controller';

/**
 * One prom-client `Registry` per app, provided under its own class as the token: the libs inject
 * it optionally (`@Optional() registry?: Registry`) and define their metrics on it, so libs never
 * import from src/, and two replicas in one process (the e2e tests) never collide on the global
 * default registry. Process metrics live in one registry per process (see `processRegistry`).
 */
@Global()
@Module({
  providers: [{ provide: Registry, useFactory: () => new Registry() }],
  controllers: [MetricsController],
  exports: [Registry],
})
export class MetricsModule {}
