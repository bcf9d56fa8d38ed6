import { connect, type RealtimeClient } from '../client';
import type { ClientEvents, ClientOptions } from '../types';
import { FakeServer } from './fake-websocket';

export const URL_A = 'ws://a.test/ws';
export const URL_B = 'ws://b.test/ws';

const EVENTS: Array<keyof ClientEvents> = [
  'state',
  'welcome',
  'message',
  'direct',
  'notification',
  'presence',
  'removed',
  'recovered',
  'disconnect',
  'token',
  'error',
  'frame',
];

export interface Harness {
  server: FakeServer;
  client: RealtimeClient;
  /** Every payload of `event` the client emitted so far, oldest first. */
  of: <K extends keyof ClientEvents>(event: K) => Array<ClientEvents[K]>;
}

/** A client on fake sockets that records every event it emits. Use with jest fake timers. */
export function startClient(
  options: Partial<ClientOptions> = {},
  fake: { answerInbox?: boolean } = {},
): Harness {
  const server = new FakeServer();
  server.answerInbox = fake.answerInbox ?? true;
  const client = connect({
    url: URL_A,
    WebSocket: server.WebSocket,
    random: () => 0.5,
    ...options,
  });
  const seen = new Map<keyof ClientEvents, unknown[]>();
  for (const event of EVENTS) {
    const list: unknown[] = [];
    seen.set(event, list);
    client.on(event, (payload) => list.push(payload));
  }
  return {
    server,
    client,
    of: <K extends keyof ClientEvents>(event: K) =>
      (seen.get(event) ?? []) as Array<ClientEvents[K]>,
  };
}

/** `startClient`, then the server's `welcome`: a live client (use with jest fake timers). */
export async function startLiveClient(
  options: Partial<ClientOptions> = {},
  fake: { answerInbox?: boolean } = {},
): Promise<Harness> {
  const harness = startClient(options, fake);
  await flush();
  harness.server.last.welcome();
  return harness;
}

/** Runs due timers and settles pending promises (the client opens sockets asynchronously). */
export async function flush(ms = 0): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

/** The rejection of `promise`, for asserting on its code. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}
