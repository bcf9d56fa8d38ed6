import { Global, Module } from '@nestjs/common';
import { ChannelsService } from './channels.service';

/** Needs `Relay` and `HistoryStore` (from `RelayModule` and `HistoryModule`, both global). */
@Global()
@Module({ providers: [ChannelsService], exports: [ChannelsService] })
export class ChannelsModule {}
