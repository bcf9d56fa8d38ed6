/**
 * How many socket writes nats.js makes for a number of publishes, by how they are spread over
 * the event loop (evidence for issue 11: does it write once per publish?). Counts, not timings.
 *
 *   npx ts-node -r tsconfig-paths/register --transpile-only bench/nats-socket-writes.ts
 */
import type { Socket } from 'node:net';
import { connect, type NatsConnection } from 'nats';
import { startNatsServer } from '@app/testing';

const PUBLISHES = 1_000;
const data = Buffer.from('{"event":"chat.message","data":{"id":"x","body":"hello"}}');

/** The TCP socket under a nats.js 2.29 connection (private: `protocol.transport.socket`). */
function socketOf(nc: NatsConnection): Socket {
  return (nc as unknown as { protocol: { transport: { socket: Socket } } }).protocol.transport
    .socket;
}

async function countWrites(nc: NatsConnection, spread: (publish: () => void) => Promise<void>) {
  await nc.flush();
  const socket = socketOf(nc);
  const write = socket.write.bind(socket);
  let writes = 0;
  socket.write = ((...args: Parameters<Socket['write']>) => {
    writes++;
    return write(...args);
  }) as Socket['write'];
  await spread(() => nc.publish('writes.test', data));
  await nc.flush(); // its PING is one more write
  socket.write = write;
  return writes - 1;
}

async function main(): Promise<void> {
  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  const cases: Record<string, (publish: () => void) => Promise<void>> = {
    'all in one synchronous loop': (publish) => {
      for (let i = 0; i < PUBLISHES; i++) publish();
      return Promise.resolve();
    },
    'one per microtask (await between them)': async (publish) => {
      for (let i = 0; i < PUBLISHES; i++) {
        publish();
        await Promise.resolve();
      }
    },
    'one per macrotask (setImmediate, as one per received frame)': async (publish) => {
      for (let i = 0; i < PUBLISHES; i++) {
        publish();
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
    'two per macrotask (a DM: two appends in one synchronous run)': async (publish) => {
      for (let i = 0; i < PUBLISHES / 2; i++) {
        publish();
        publish();
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
  for (const [name, spread] of Object.entries(cases)) {
    console.log(
      `${name.padEnd(62)} ${PUBLISHES} publishes → ${await countWrites(nc, spread)} writes`,
    );
  }
  await nc.close();
  await server.stop();
}

void main();
