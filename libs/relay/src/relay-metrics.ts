import { Counter, Gauge, Registry } from 'prom-client';
import type { Relay, RelayState } from './relay';

const STATES: readonly RelayState[] = ['connected', 'reconnecting', 'closed'];

/**
 * The broker connection's metrics, on the app's prom-client `Registry`, read through the `Relay`
 * port so they hold for either implementation (the embedded relay is always `connected`).
 */
export class RelayMetrics {
  constructor(relay: Relay, registry: Registry = new Registry()) {
    const registers = [registry];
    new Gauge({
      name: 'realtime_nats_connection_state',
      help: 'Broker connection state: 1 for the current state, 0 for the others',
      labelNames: ['state'],
      registers,
      collect() {
        for (const state of STATES) this.set({ state }, relay.state === state ? 1 : 0);
      },
    });
    const reconnects = new Counter({
      name: 'realtime_nats_reconnects_total',
      help: 'Times the broker connection came back after it was lost',
      registers,
    });
    relay.onReconnected(() => reconnects.inc());
  }
}
