import { Injectable } from '@nestjs/common';
import { ChannelsService } from '@app/channels';
import { WsHub } from '@app/ws';
import { Registry } from 'prom-client';
import type { ReplicaStats } from './cluster.messages';

/** Sums a counter of the app's registry over all its labels (0 when it does not exist). */
async function total(registry: Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** This replica's figures, sent with its heartbeats for the console's cluster panel (own metrics). */
@Injectable()
export class ReplicaStatsReader {
  constructor(
    private readonly hub: WsHub,
    private readonly channels: ChannelsService,
    private readonly registry: Registry,
  ) {}

  async read(): Promise<ReplicaStats> {
    const [framesIn, framesOut, deliveries] = await Promise.all([
      total(this.registry, 'realtime_ws_frames_in_total'),
      total(this.registry, 'realtime_ws_frames_out_total'),
      total(this.registry, 'realtime_deliveries_total'),
    ]);
    return {
      connections: this.hub.size,
      channels: this.channels.channelCount,
      framesIn,
      framesOut,
      deliveries,
    };
  }
}
