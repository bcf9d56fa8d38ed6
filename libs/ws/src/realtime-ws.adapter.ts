import type { INestApplication } from '@nestjs/common';
import { AbstractWsAdapter } from '@nestjs/websockets';
import type { Connection } from './connection';
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

  override bindClientConnect(hub: WsHub, callback: (conn: Connection) => void): void {
    hub.onConnect(callback);
  }

  override bindClientDisconnect(conn: Connection, callback: () => void): void {
    conn.onClose(callback);
  }

  /**
   * Nest hands over every gateway's handlers bound to this connection; they are not kept. The hub
   * dispatches through `WsDispatcher`, whose handlers are wrapped once and shared (per connection,
   * they cost ~1.8 KB).
   */
  bindMessageHandlers(): void {}

  override close(hub: WsHub): Promise<void> {
    hub.close();
    return Promise.resolve();
  }
}
