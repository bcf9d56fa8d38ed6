import { Global, Module } from '@nestjs/common';
import { NatsRelay, Relay } from '@app/relay';
import { HISTORY_OPTIONS, HistoryModuleDefinition, type HistoryOptions } from './history-options';
import { HistoryStore } from './history-store';
import { InMemoryHistory } from './in-memory.history';
import { JetStreamHistory } from './jetstream.history';

/**
 * Provides `HistoryStore` (the abstract class is the token) to the whole app: on JetStream when the
 * app's `Relay` is a `NatsRelay` (appends on its connection, replays on a second one opened with
 * the same options), else in memory on that relay. Needs `Relay`
 * from `RelayModule`, which is global. Configure with `HistoryModule.forRootAsync(…)`.
 */
@Global()
@Module({
  providers: [
    {
      provide: HistoryStore,
      useFactory: (relay: Relay, options: HistoryOptions): HistoryStore =>
        createHistory(relay, options),
      inject: [Relay, HISTORY_OPTIONS],
    },
  ],
  exports: [HistoryStore, HISTORY_OPTIONS],
})
export class HistoryModule extends HistoryModuleDefinition {}

function createHistory(relay: Relay, options: HistoryOptions): HistoryStore {
  if (!(relay instanceof NatsRelay)) return new InMemoryHistory(relay, options);
  // The relay connects in its own onModuleInit: after this factory runs, and possibly after our
  // onModuleInit too (both modules are global, so the app's import order decides). It is
  // idempotent, so the history waits for it there instead of reading a missing connection.
  return new JetStreamHistory(
    async () => {
      await relay.onModuleInit();
      return relay.connection;
    },
    options,
    () => relay.openConnection('history'),
  );
}
