import { OTHER_EVENT, WsMetrics } from '@app/ws';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { eventOf } from './frame-codec';

/**
 * Seconds. A JetStream publish and its ack take well under a millisecond on one host, a few across
 * zones; the top buckets catch a broker in trouble (requests time out at 5 s by default).
 */
const PUBLISH_BUCKETS = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

interface AdmissionView {
  readonly current: number;
  readonly limit: number;
}

interface ChannelsView {
  readonly size: number;
  values(): IterableIterator<{ readonly members: { readonly size: number } }>;
}

/**
 * Metrics of `ChannelsService`, on the app's prom-client `Registry` (see `WsMetrics`). Channel
 * frames are frames out too: they are counted in `realtime_ws_frames_out_total` under their event,
 * once per message with the number of sockets written, never once per socket.
 */
export class ChannelsMetrics {
  readonly liveDeliveries: Counter.Internal;
  readonly replayDeliveries: Counter.Internal;
  readonly recoveredReplays: Counter.Internal;
  readonly unrecoveredReplays: Counter.Internal;
  readonly publishRefused: Counter;
  private readonly publishOk: Histogram.Internal<'result'>;
  private readonly publishFailed: Histogram.Internal<'result'>;

  constructor(
    channels: ChannelsView,
    admission: AdmissionView,
    registry: Registry = new Registry(),
    private readonly ws: WsMetrics = new WsMetrics(),
  ) {
    const registers = [registry];
    new Gauge({
      name: 'realtime_publish_inflight',
      help: 'History appends in flight on this replica (admitted publishes not yet answered)',
      registers,
      collect() {
        this.set(admission.current);
      },
    });
    new Gauge({
      name: 'realtime_publish_max_inflight',
      help: 'PUBLISH_MAX_INFLIGHT: past it a publish is refused with overloaded',
      registers,
      collect() {
        this.set(admission.limit);
      },
    });
    this.publishRefused = new Counter({
      name: 'realtime_publish_refused_total',
      help: 'Publishes refused with overloaded (nothing stored): appends in flight were at PUBLISH_MAX_INFLIGHT',
      registers,
    });
    new Gauge({
      name: 'realtime_channels',
      help: 'Channels this replica is subscribed to (with at least one local member)',
      registers,
      collect() {
        this.set(channels.size);
      },
    });
    new Gauge({
      name: 'realtime_channel_subscriptions',
      help: 'Local memberships: (connection, channel) pairs on this replica',
      registers,
      collect() {
        let members = 0;
        for (const channel of channels.values()) members += channel.members.size;
        this.set(members);
      },
    });
    const deliveries = new Counter({
      name: 'realtime_deliveries_total',
      help: 'Channel messages written to sockets: live (including those held during a resume) or replayed from history',
      labelNames: ['path'],
      registers,
    });
    this.liveDeliveries = deliveries.labels('live');
    this.replayDeliveries = deliveries.labels('replay');
    const replays = new Counter({
      name: 'realtime_history_replays_total',
      help: 'Joins that resumed from a seq; recovered="false" when history no longer reached back (or was reset)',
      labelNames: ['recovered'],
      registers,
    });
    this.recoveredReplays = replays.labels('true');
    this.unrecoveredReplays = replays.labels('false');
    for (const child of [
      this.liveDeliveries,
      this.replayDeliveries,
      this.recoveredReplays,
      this.unrecoveredReplays,
    ])
      child.inc(0);
    const publish = new Histogram({
      name: 'realtime_relay_publish_duration_seconds',
      help: 'Time to store and relay one message: the history append (JetStream publish and ack)',
      labelNames: ['result'],
      buckets: PUBLISH_BUCKETS,
      registers,
    });
    this.publishOk = publish.labels('ok');
    this.publishFailed = publish.labels('error');
  }

  /** Counts `count` sockets written with one message's `frame`. */
  delivered(frame: Buffer, count: number, replayed = false): void {
    (replayed ? this.replayDeliveries : this.liveDeliveries).inc(count);
    this.ws.frameOut(eventOf(frame) ?? OTHER_EVENT).inc(count);
  }

  /** Observes one history append that took `ms` and succeeded or not. */
  appended(ms: number, ok: boolean): void {
    (ok ? this.publishOk : this.publishFailed).observe(ms / 1000);
  }

  /** Counts `count` sockets written with one ephemeral frame of `event`. */
  sentEphemeral(event: string, count: number): void {
    this.ws.frameOut(event).inc(count);
  }
}
