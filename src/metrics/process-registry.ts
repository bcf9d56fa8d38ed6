import { collectDefaultMetrics, Registry } from 'prom-client';

let registry: Registry | undefined;

/**
 * The process's metrics (CPU, memory, event loop lag, GC, handles), shared by every app in the
 * process: they describe the process, and `collectDefaultMetrics` starts an event-loop monitor
 * and a GC observer that nothing can stop, so it must run once, not once per app.
 */
export function processRegistry(): Registry {
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
  }
  return registry;
}
