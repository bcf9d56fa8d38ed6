import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** One real `ws` connection over loopback: the server's accepted socket and the client's. */
export interface WsPair {
  readonly accepted: WebSocket;
  readonly client: WebSocket;
  /** Drops the client and closes the server. */
  readonly close: () => Promise<void>;
}

/** Opens a `WsPair` on a free port, both ends open (no compression, as the hub runs). */
export async function openWsPair(): Promise<WsPair> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => server.once('listening', resolve));
  const connection = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const [accepted] = await Promise.all([
    connection,
    new Promise((resolve) => client.once('open', resolve)),
  ]);
  return {
    accepted,
    client,
    close: async () => {
      client.terminate();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
