import { Global, Module } from '@nestjs/common';
import { BrokerConnections, Relay } from '@app/relay';
import { HISTORY_OPTIONS, HistoryModuleDefinition, type HistoryOptions } from './history-options';
import { HistoryStore } from './history-store';
import { InMemoryHistory } from './in-memory.history';
import { JetStreamHistory } from './jetstream.history';

/**
 * Provides `HistoryStore` (the abstract class is the token) to the whole app. Its `publishStored` is how a
 * stored message leaves a replica: on JetStream when `RelayModule` (global) provides
 * `BrokerConnections` (appends on the relay's connection, whose stream republishes them on
 * `live.>`; replays on a connection of their own), else in memory, relaying appends on `Relay`.
 * Configure with `HistoryModule.forRootAsync(…)`.
 */
@Global()
@Module({
  providers: [
    {
      provide: HistoryStore,
      useFactory: createHistory,
      inject: [Relay, HISTORY_OPTIONS, { token: BrokerConnections, optional: true }],
    },
  ],
  exports: [HistoryStore, HISTORY_OPTIONS],
})
export class HistoryModule extends HistoryModuleDefinition {}

function createHistory(
  relay: Relay,
  options: HistoryOptions,
  broker: BrokerConnections | null | undefined,
): HistoryStore {
  if (!broker) return new InMemoryHistory(relay, options);
  // `primary` waits for the relay's connection: the relay's start-up may run after ours (both
  // modules are global, so the app's import order decides).
  return new JetStreamHistory(
    () => broker.primary(),
    options,
    () => broker.open('history'),
  );
}
