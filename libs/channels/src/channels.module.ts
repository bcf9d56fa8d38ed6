import { Global, Module } from '@nestjs/common';
import { ChannelsModuleDefinition } from './channels-options';
import { ChannelsService } from './channels.service';

/**
 * Needs `Relay` and `HistoryStore` (from `RelayModule` and `HistoryModule`, both global). Imported
 * bare, it runs with the default limits; `ChannelsModule.forRootAsync(…)` sets them.
 */
@Global()
@Module({ providers: [ChannelsService], exports: [ChannelsService] })
export class ChannelsModule extends ChannelsModuleDefinition {}
