import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '@nestjs/common';
import { WebSocketServer, type WebSocket } from 'ws';
import { AppError, CloseCode, type Principal } from '@app/core';
import type { WsOptions } from './ws-options';

/** Takes an upgraded, authenticated socket (the hub). */
export type AcceptSocket = (
  ws: WebSocket,
  user: Principal | null,
  request: IncomingMessage,
) => void;

/**
 * The HTTP upgrade of the /ws path: the token is checked before the upgrade completes, so no frame
 * of a refused connection is ever read. A bad token gets 4001 with the authenticator's reason, a
 * draining replica 1012; anything else goes to `accept`.
 */
export class UpgradeGate {
  /**
   * Never compresses: `Connection.sendWire` writes pre-framed bytes under `ws`, which is safe only
   * without permessage-deflate.
   */
  private readonly server: WebSocketServer;

  constructor(
    private readonly options: Pick<WsOptions, 'path' | 'maxPayloadBytes' | 'authenticate'>,
    private readonly draining: () => boolean,
    private readonly accept: AcceptSocket,
    private readonly logger: Logger,
  ) {
    this.server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
  }

  /** Serves upgrades of the path on `httpServer`. */
  attach(httpServer: NodeJS.EventEmitter): void {
    httpServer.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(request, socket, head),
    );
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path !== this.options.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    let user: Principal | null = null;
    let refused: string | undefined;
    try {
      user = this.options.authenticate(request);
    } catch (error) {
      // The authenticator logs and counts refused tokens, and its AppError's message is the close
      // reason; anything else is a bug, logged here.
      refused = 'unauthorized';
      if (error instanceof AppError) refused = error.message;
      else this.logger.error({ err: error, msg: 'authentication failed' });
    }
    this.server.handleUpgrade(request, socket, head, (ws) => {
      if (refused !== undefined) {
        ws.close(CloseCode.Unauthorized, refused);
      } else if (this.draining()) {
        ws.close(CloseCode.ServiceRestart, 'draining');
      } else {
        this.accept(ws, user, request);
      }
    });
  }
}
