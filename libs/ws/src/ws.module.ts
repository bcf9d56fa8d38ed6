import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { WsDispatcher } from './ws-dispatcher';
import { WsHub } from './ws-hub';
import { WsMetrics } from './ws-metrics';
import { WsModuleDefinition } from './ws-options';

/**
 * Provides the `WsHub`; `RealtimeWsAdapter` serves it on the application's HTTP server. Its
 * `WsMetrics` go on the app's prom-client `Registry` when one is provided (the class is the token).
 * Configure with `WsModule.forRootAsync({ imports, inject, useFactory })`.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [WsMetrics, WsDispatcher, WsHub],
  exports: [WsHub, WsMetrics],
})
export class WsModule extends WsModuleDefinition {}
