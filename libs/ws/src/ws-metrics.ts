import { Injectable, Optional } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { LIMIT_NAMES, type LimitName } from './limits';

/** `event` label of an inbound frame that is not a usable `{"event","data"}` object. */
export const INVALID_EVENT = 'invalid';
/** `event` label of a well-formed inbound frame that no gateway handles. */
export const UNKNOWN_EVENT = 'unknown';
/** `event` label past `MAX_EVENT_LABELS` distinct events: a label set must stay bounded. */
export const OTHER_EVENT = 'other';
const MAX_EVENT_LABELS = 64;

type Child = Counter.Internal;

/**
 * A frame counter of one event: the hot path adds to a number, and prom-client gets the sum when
 * the registry is read. A prom-client child hashes and validates its labels on every `inc`, per
 * frame in and out.
 */
export class Tally {
  pending = 0;

  inc(value = 1): void {
    this.pending += value;
  }
}

/**
 * Metrics of the /ws endpoint, on the app's prom-client `Registry`. The `Registry` class is the
 * injection token (the app's `MetricsModule` provides one per app, so replicas in one process never
 * collide); without one, a private registry keeps the counting code free of checks. Labels are
 * bounded: `event` is a registered handler's or a `ServerEvents` name, never client input.
 */
@Injectable()
export class WsMetrics {
  readonly rateLimitedRejected: Child;
  readonly rateLimitedClosed: Child;
  readonly slowConsumerCloses: Counter;
  /** Requests and connections refused by a limit, by the limit's variable name. */
  readonly limitRefusals: Record<LimitName, Child>;
  /** WS frames, REST bodies and NATS payloads refused for nesting deeper than JSON_MAX_DEPTH. */
  readonly tooDeepRefusals: Child;
  private readonly connections: Gauge<'auth'>;
  /** By event; each label's tally is added to its counter when the registry is read. */
  private readonly inTallies = new Map<string, Tally>();
  private readonly outTallies = new Map<string, Tally>();

  constructor(@Optional() registry: Registry = new Registry()) {
    const registers = [registry];
    this.connections = new Gauge({
      name: 'realtime_ws_connections',
      help: 'Open WebSocket connections on this replica, by authenticated or anonymous',
      labelNames: ['auth'],
      registers,
    });
    // Both series exist from the start, so a dashboard shows 0 rather than nothing.
    this.connections.set({ auth: 'authenticated' }, 0);
    this.connections.set({ auth: 'anonymous' }, 0);
    const inTallies = this.inTallies;
    const outTallies = this.outTallies;
    new Counter({
      name: 'realtime_ws_frames_in_total',
      help: `Frames received past the rate limit, by event (${INVALID_EVENT}: not a frame, ${UNKNOWN_EVENT}: no handler)`,
      labelNames: ['event'],
      registers,
      collect() {
        flush(this, inTallies);
      },
    });
    new Counter({
      name: 'realtime_ws_frames_out_total',
      help: 'Frames written to sockets, by event (reply, error, welcome, reconnect, channel events)',
      labelNames: ['event'],
      registers,
      collect() {
        flush(this, outTallies);
      },
    });
    const rateLimited = new Counter({
      name: 'realtime_ws_rate_limited_total',
      help: 'Frames over the rate limit: rejected with rate_limited, or closed (1008) for abuse',
      labelNames: ['action'],
      registers,
    });
    this.rateLimitedRejected = rateLimited.labels('rejected');
    this.rateLimitedClosed = rateLimited.labels('closed');
    this.rateLimitedRejected.inc(0);
    this.rateLimitedClosed.inc(0);
    this.slowConsumerCloses = new Counter({
      name: 'realtime_ws_slow_consumer_closes_total',
      help: 'Connections closed with 1013 because their send buffer passed the bound',
      registers,
    });
    const refusals = new Counter({
      name: 'realtime_limit_refusals_total',
      help: 'Requests answered limit_exceeded (and connections closed over MAX_CONNECTIONS_PER_USER), and input refused over JSON_MAX_DEPTH, by limit',
      labelNames: ['limit'],
      registers,
    });
    this.limitRefusals = Object.fromEntries(
      LIMIT_NAMES.map((name) => [name, refusals.labels(name)]),
    ) as Record<LimitName, Child>;
    this.tooDeepRefusals = refusals.labels('JSON_MAX_DEPTH');
    for (const each of [...Object.values(this.limitRefusals), this.tooDeepRefusals]) each.inc(0);
  }

  /**
   * The open-connections gauge of one kind of connection: inc on open, dec on close. One of two
   * children made once, not a new object each time.
   */
  connectionsOf(authenticated: boolean): Gauge.Internal<'auth'> {
    return authenticated ? this.authenticatedConnections : this.anonymousConnections;
  }

  private get authenticatedConnections(): Gauge.Internal<'auth'> {
    return (this.authenticatedChild ??= this.connections.labels('authenticated'));
  }

  private get anonymousConnections(): Gauge.Internal<'auth'> {
    return (this.anonymousChild ??= this.connections.labels('anonymous'));
  }

  private authenticatedChild?: Gauge.Internal<'auth'>;
  private anonymousChild?: Gauge.Internal<'auth'>;

  frameIn(event: string): Tally {
    return tally(this.inTallies, event);
  }

  frameOut(event: string): Tally {
    return tally(this.outTallies, event);
  }
}

function tally(tallies: Map<string, Tally>, event: string): Tally {
  let found = tallies.get(event);
  if (found === undefined) {
    const label = tallies.size < MAX_EVENT_LABELS ? event : OTHER_EVENT;
    found = tallies.get(label) ?? new Tally();
    tallies.set(label, found);
  }
  return found;
}

/** Adds what each label counted since the last read to the counter. */
function flush(counter: Counter<'event'>, tallies: Map<string, Tally>): void {
  for (const [event, t] of tallies) {
    // An event mapped to `other` shares its tally: add it once, under the label it was made for.
    if (t.pending === 0) continue;
    counter.inc({ event: labelOf(tallies, event, t) }, t.pending);
    t.pending = 0;
  }
}

function labelOf(tallies: Map<string, Tally>, event: string, t: Tally): string {
  return tallies.get(OTHER_EVENT) === t ? OTHER_EVENT : event;
}
