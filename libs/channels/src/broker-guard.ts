/**
 * The broker as publishes and joins see it: refused at once while it is away, and an append in
 * flight answered `unavailable` as soon as the connection drops (its ack would never come, and the
 * caller would wait the whole request timeout).
 */
import { AppError } from '@app/core';
import type { Relay } from '@app/relay';

type Reject = (error: AppError) => void;

export class BrokerGuard {
  /** The rejections of the appends in flight: all called when the broker connection drops. */
  private readonly inFlight = new Set<Reject>();

  constructor(private readonly relay: Relay) {
    // One listener for the replica, not one per append.
    relay.onStateChange((state) => {
      if (state !== 'connected') this.dropAll();
    });
  }

  /**
   * While the broker is away, publishes and history reads would wait for a timeout (nats.js
   * buffers them); the caller learns at once instead, and retries.
   */
  assertConnected(): void {
    if (this.relay.state !== 'connected') {
      throw new AppError('unavailable', 'message broker unreachable, retry later');
    }
  }

  /**
   * `publishStored`'s result, or `unavailable` as soon as the broker connection drops while it is in
   * flight. Whether it was stored is unknown; a retry with the same key (msgID) stores it at most
   * once.
   */
  untilLost<T>(append: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject: Reject) => {
      this.inFlight.add(reject);
      append.then(
        (value) => {
          this.inFlight.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.inFlight.delete(reject);
          reject(error as AppError);
        },
      );
    });
  }

  private dropAll(): void {
    for (const reject of this.inFlight) {
      reject(
        new AppError(
          'unavailable',
          'the broker connection dropped while storing: it may or may not be stored, send it again (with the same key)',
        ),
      );
    }
    this.inFlight.clear();
  }
}
