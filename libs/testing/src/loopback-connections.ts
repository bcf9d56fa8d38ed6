/**
 * Server-side `Connection`s over real loopback sockets, each with the `WsTestClient` at its other
 * end: for unit specs of services that write to connections, without an app or a hub.
 */
import type { AddressInfo } from 'node:net';
import type { Principal } from '@app/core';
import { Connection, type ConnectionLimits } from '@app/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { WsTestClient } from './ws-test-client';

export interface LoopbackConnection {
  /** The server's side, as services see it. */
  conn: Connection;
  /** The client's side: what reached the socket. */
  client: WsTestClient;
}

const LIMITS: ConnectionLimits = {
  maxBufferedBytes: 4 * 1024 * 1024,
  rate: { perSecond: 1e6, burst: 1e6 },
};

export class LoopbackConnections {
  private readonly clients: WsTestClient[] = [];

  private constructor(
    private readonly server: WebSocketServer,
    private readonly url: string,
  ) {}

  static async start(): Promise<LoopbackConnections> {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    return new LoopbackConnections(server, `ws://127.0.0.1:${port}`);
  }

  /** A connection of `user` (null: anonymous). */
  async open(
    user: Principal | null,
    limits: Partial<ConnectionLimits> = {},
  ): Promise<LoopbackConnection> {
    const accepted = new Promise<WebSocket>((resolve) => this.server.once('connection', resolve));
    const client = await WsTestClient.connect(this.url);
    this.clients.push(client);
    const conn = new Connection(await accepted, user, { ...LIMITS, ...limits });
    return { conn, client };
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()));
    await new Promise((resolve) => this.server.close(resolve));
  }
}
