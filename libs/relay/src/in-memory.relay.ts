import { Logger } from '@nestjs/common';
import { Relay, type RelayHandler, type RelayMessage, type RelayState } from './relay';
import { assertValidSubject, subjectMatches } from './subjects';

interface BusSubscription {
  readonly pattern: string;
  readonly deliver: (message: RelayMessage, subject: string) => void;
  active: boolean;
}

/**
 * An in-process broker. Several `InMemoryRelay`s sharing one bus behave like replicas connected to
 * the same NATS server, which is how single-process tests exercise cross-replica paths.
 */
export class InMemoryBus {
  // Literal subjects are looked up directly so a publish does not scan every channel's subscription.
  private readonly exact = new Map<string, Set<BusSubscription>>();
  private readonly wildcards = new Set<BusSubscription>();

  /** Registers `deliver` for subjects matching `pattern`; returns the function that removes it. */
  subscribe(pattern: string, deliver: BusSubscription['deliver']): () => void {
    const sub: BusSubscription = { pattern, deliver, active: true };
    const isWildcard = pattern.split('.').some((t) => t === '*' || t === '>');
    if (isWildcard) {
      this.wildcards.add(sub);
    } else {
      const set = this.exact.get(pattern) ?? new Set();
      set.add(sub);
      this.exact.set(pattern, set);
    }
    return () => {
      // Messages already queued for this subscriber must not arrive after it unsubscribed.
      sub.active = false;
      if (isWildcard) {
        this.wildcards.delete(sub);
        return;
      }
      const set = this.exact.get(pattern);
      set?.delete(sub);
      if (set?.size === 0) this.exact.delete(pattern);
    };
  }

  /**
   * Queues `message` for every current subscriber of `subject`. Delivery is asynchronous, like a
   * broker round trip, and microtasks run in FIFO order, so each subscriber sees publish order.
   */
  publish(subject: string, message: RelayMessage): void {
    const targets = [...(this.exact.get(subject) ?? [])];
    for (const sub of this.wildcards) {
      if (subjectMatches(sub.pattern, subject)) targets.push(sub);
    }
    for (const sub of targets) {
      queueMicrotask(() => {
        if (sub.active) sub.deliver(message, subject);
      });
    }
  }
}

/**
 * The relay for a single process (no `NATS_URL`) and for unit tests: same semantics as `NatsRelay`
 * (wildcards, asynchronous ordered delivery, isolated handler failures), no broker.
 */
export class InMemoryRelay extends Relay {
  private readonly logger = new Logger(InMemoryRelay.name);

  /** @param bus share one bus between several instances to simulate replicas */
  constructor(private readonly bus: InMemoryBus = new InMemoryBus()) {
    super();
  }

  override publishEphemeral(subject: string, message: RelayMessage): Promise<void> {
    // A throw inside the executor becomes the rejection, as with NatsRelay.
    return new Promise((resolve) => {
      assertValidSubject(subject, 'publish');
      this.bus.publish(subject, message);
      resolve();
    });
  }

  override subscribe(subject: string, onMessage: RelayHandler): () => void {
    assertValidSubject(subject, 'subscribe');
    return this.bus.subscribe(subject, (message, actual) => {
      try {
        onMessage(message, actual);
      } catch (err) {
        this.logger.error({ msg: 'relay handler threw', subject: actual, err });
      }
    });
  }

  override flush(): Promise<void> {
    return Promise.resolve();
  }

  override get state(): RelayState {
    return 'connected';
  }

  override onStateChange(_listener: (state: RelayState) => void): () => void {
    // Never changes state: there is no broker to lose.
    return () => undefined;
  }

  override onReconnected(_listener: () => void): () => void {
    return () => undefined;
  }
}
