import type { INestApplication } from '@nestjs/common';
import { AbstractWsAdapter } from '@nestjs/websockets';
import type { WsHub } from './ws-hub';

/**
 * Nest's adapter API over our `WsHub`. Nest's own `WsAdapter` drops invalid JSON and unknown events
 * silently, never sends a thrown error to plain `ws` clients and closes without a close frame; the
 * hub does all of that per the contract, for every gateway on `/ws` at once.
 */
export class RealtimeWsAdapter extends AbstractWsAdapter {
  private attached = false;

  constructor(
    app: INestApplication,
    private readonly hub: WsHub,
  ) {
    super(app);
  }

  create(): WsHub {
    if (!this.attached) {
      this.attached = true;
      this.hub.attach(this.httpServer as NodeJS.EventEmitter);
    }
    return this.hub;
  }

  /**
   * Nest's per-connection path (binding every gateway's handlers and hooks to each connection) is
   * not used: it would cost ~2 KB per idle connection. `WsDispatcher` wraps the handlers once and
   * the hub calls the gateways' `handleConnection`/`handleDisconnect` itself.
   */
  override bindClientConnect(): void {}

  bindMessageHandlers(): void {}

  override close(hub: WsHub): Promise<void> {
    hub.close();
    return Promise.resolve();
  }
}
