import type { INestApplication } from '@nestjs/common';
import type { WsMessageHandler } from '@nestjs/common/interfaces';
import { AbstractWsAdapter } from '@nestjs/websockets';
import type { Observable } from 'rxjs';
import { AppError } from './app-error';
import type { Connection } from './connection';
import { refOf } from './frames';
import { WsHub, type BoundHandler } from './ws-hub';

type Transform = (result: unknown) => Observable<unknown>;

/**
 * Nest's adapter API over our `WsHub`. Nest's own `WsAdapter` drops invalid JSON and unknown events
 * silently, never sends a thrown error to plain `ws` clients and closes without a close frame; the
 * hub does all of that per the contract, for every gateway on `/ws` at once.
 */
export class RealtimeWsAdapter extends AbstractWsAdapter {
  private attached = false;
  private transform?: Transform;

  constructor(
    app: INestApplication,
    private readonly hub: WsHub,
  ) {
    super(app);
  }

  create(): WsHub {
    if (!this.attached) {
      this.attached = true;
      this.hub.attach(this.httpServer as NodeJS.EventEmitter, (conn, handler, data) =>
        this.run(conn, handler, data),
      );
    }
    return this.hub;
  }

  override bindClientConnect(hub: WsHub, callback: (conn: Connection) => void): void {
    hub.onConnect(callback);
  }

  override bindClientDisconnect(conn: Connection, callback: () => void): void {
    conn.onClose(callback);
  }

  bindMessageHandlers(conn: Connection, handlers: WsMessageHandler[], transform: Transform): void {
    this.transform ??= transform;
    this.hub.bindHandlers(conn, handlers);
  }

  override close(hub: WsHub): Promise<void> {
    hub.close();
    return Promise.resolve();
  }

  /** Replies are shaped by the reply interceptor and errors by the filter; this only writes them. */
  private run(conn: Connection, handler: BoundHandler, data: unknown): void {
    const done = conn.track();
    const result$ = this.transform?.(handler.callback(data, handler.message));
    if (!result$) return done();
    result$.subscribe({
      next: (frame) => {
        if (frame === undefined || frame === null) return;
        if (conn.sendFrame(JSON.stringify(frame))) this.hub.metrics.frameOut('reply').inc();
      },
      complete: done,
      error: () => {
        done();
        const ref = refOf(data);
        const error = new AppError('internal', 'internal error');
        conn.send('error', {
          ...(ref !== undefined && { ref }),
          code: error.code,
          message: error.message,
        });
      },
    });
  }
}
