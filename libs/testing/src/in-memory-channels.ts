import { ChannelsService } from '@app/channels';
import { type HistoryOptions, InMemoryHistory } from '@app/history';
import { InMemoryRelay } from '@app/relay';
import type { WsMetrics } from '@app/ws';
import type { Registry } from 'prom-client';

/** A history that keeps enough for any unit test and never expires. */
export const TEST_HISTORY_OPTIONS: HistoryOptions = {
  stream: 'RT',
  maxMsgsPerChannel: 1000,
  maxAgeMs: 0,
  replicas: 1,
};

export interface InMemoryChannels {
  readonly relay: InMemoryRelay;
  readonly history: InMemoryHistory;
  readonly channels: ChannelsService;
}

/** A `ChannelsService` over the in-memory relay and history, as the embedded mode runs it. */
export function inMemoryChannels(registry?: Registry, ws?: WsMetrics): InMemoryChannels {
  const relay = new InMemoryRelay();
  const history = new InMemoryHistory(relay, TEST_HISTORY_OPTIONS);
  return { relay, history, channels: new ChannelsService(relay, history, registry, ws) };
}
