import { Logger } from '@nestjs/common';
import { freePort, startNatsServer, type NatsServerHandle } from '@app/testing';
import { AppError } from '@app/core';
import { StorageType } from 'nats';
import { NatsRelay } from './nats.relay';
import type { Relay, RelayState } from './relay';
import { describeRelayContract, freshSubject, Inbox, roundTrip, text } from './relay.contract';

// Lifecycle logs (connected, closed) would drown the test output; the specs spy on what they check.
Logger.overrideLogger(['error']);

async function startRelay(url: string, name: string): Promise<NatsRelay> {
  const relay = new NatsRelay({ servers: [url], name, reconnectTimeWait: 100 });
  await relay.onModuleInit();
  return relay;
}

function waitForState(relay: Relay, state: RelayState, timeoutMs = 10_000): Promise<void> {
  if (relay.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for state ${state}`));
    }, timeoutMs);
    const stop = relay.onStateChange((s) => {
      if (s !== state) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

describeRelayContract(NatsRelay.name, async () => {
  const server = await startNatsServer();
  const a = await startRelay(server.url, 'contract-a');
  const b = await startRelay(server.url, 'contract-b');
  return {
    a,
    b,
    async close() {
      await Promise.all([a.onApplicationShutdown(), b.onApplicationShutdown()]);
      await server.stop();
    },
  };
});

describe(NatsRelay.name, () => {
  let server: NatsServerHandle;
  let monitorPort: number;
  let a: NatsRelay;
  let b: NatsRelay;

  /** Subjects the server holds for the connection named `name`, from its monitoring endpoint. */
  async function brokerSubscriptions(name: string): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/connz?subs=1`);
    const body = (await res.json()) as {
      connections: { name?: string; subscriptions_list?: string[] }[];
    };
    const conn = body.connections.find((c) => c.name === name);
    if (conn === undefined) throw new Error(`no connection named ${name} on the server`);
    return conn.subscriptions_list ?? [];
  }

  beforeAll(async () => {
    monitorPort = await freePort();
    server = await startNatsServer({ args: ['-m', String(monitorPort)] });
    a = await startRelay(server.url, 'replica-a');
    b = await startRelay(server.url, 'replica-b');
  });

  afterAll(async () => {
    await Promise.all([a.onApplicationShutdown(), b.onApplicationShutdown()]);
    await server.stop();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('holds one broker subscription per subject, whatever the number of handlers', async () => {
    const subject = freshSubject('shared');
    const handlers = [new Inbox(a, subject), new Inbox(a, subject), new Inbox(a, subject)];
    await a.flush();
    const whileSubscribed = (await brokerSubscriptions('replica-a')).filter((s) => s === subject);

    handlers[0]?.unsubscribe();
    handlers[1]?.unsubscribe();
    await a.flush();
    const withOneLeft = (await brokerSubscriptions('replica-a')).filter((s) => s === subject);
    handlers[2]?.unsubscribe();
    await a.flush();
    const afterLast = (await brokerSubscriptions('replica-a')).filter((s) => s === subject);

    expect(whileSubscribed).toEqual([subject]);
    expect(withOneLeft).toEqual([subject]);
    expect(afterLast).toEqual([]);
  });

  it('sends one PING for the flushes of one event-loop turn, and each flush covers its subscription', async () => {
    const pings = jest.spyOn(a.connection, 'flush');
    const subjects = Array.from({ length: 50 }, () => freshSubject('storm'));
    const inboxes: Inbox[] = [];
    // As 50 connections accepted in one turn do: subscribe to an inbox, then flush.
    await Promise.all(
      subjects.map((subject) => {
        inboxes.push(new Inbox(a, subject));
        return a.flush();
      }),
    );
    expect(pings).toHaveBeenCalledTimes(1);
    const held = await brokerSubscriptions('replica-a');
    expect(subjects.filter((s) => !held.includes(s))).toEqual([]);
    for (const inbox of inboxes) inbox.unsubscribe();
  });

  it('exposes the headers of a JetStream republish, Nats-Sequence included', async () => {
    const jsm = await a.connection.jetstreamManager();
    await jsm.streams.add({
      name: 'RELAY_SPEC',
      subjects: ['rt.>'],
      storage: StorageType.File,
      republish: { src: 'rt.>', dest: 'live.>' },
    });
    const channel = freshSubject('room');
    const live = new Inbox(b, `live.${channel}`);
    await b.flush();

    await a.publishEphemeral(`rt.${channel}`, text('first'));
    await a.publishEphemeral(`rt.${channel}`, text('second'));

    await live.waitFor(2, 'both republished messages');
    expect(live.received.map((m) => m.headers)).toEqual([
      expect.objectContaining({
        'Nats-Sequence': '1',
        'Nats-Last-Sequence': '0',
        'Nats-Subject': `rt.${channel}`,
      }),
      expect.objectContaining({ 'Nats-Sequence': '2', 'Nats-Last-Sequence': '1' }),
    ]);
  });

  it('rejects with AppError unavailable once the connection is closed', async () => {
    const sut = await startRelay(server.url, 'closing');
    const states: RelayState[] = [];
    sut.onStateChange((s) => states.push(s));

    await sut.onApplicationShutdown();

    expect(sut.state).toBe('closed');
    expect(states).toEqual(['closed']);
    const published = sut.publishEphemeral('room.closed', text('late'));
    await expect(published).rejects.toBeInstanceOf(AppError);
    await expect(published).rejects.toMatchObject({ code: 'unavailable' });
    await expect(sut.flush()).rejects.toMatchObject({ code: 'unavailable' });
    expect(() => sut.subscribe('room.closed', () => undefined)).toThrow(AppError);
  });

  it('rejects a payload over the server maximum as bad_request, not as an outage', async () => {
    const tooBig = new Uint8Array(2 * 1024 * 1024);

    await expect(a.publishEphemeral('room.big', { data: tooBig })).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect(a.state).toBe('connected');
  });

  it('opens another connection with its own options, counts it in its state, closes it with itself', async () => {
    const relay = await startRelay(server.url, 'replica-c');
    const other = await relay.openConnection('history');
    // The same servers and options, under a name that says what it is for.
    expect(other.getServer()).toBe(relay.connection.getServer());
    expect(await brokerSubscriptions('replica-c-history')).toEqual([]);
    const states: RelayState[] = [];
    relay.onStateChange((s) => states.push(s));
    // The relay's state is connected only while every connection of the replica is.
    await other.close();
    expect(relay.state).toBe('connected');
    const again = await relay.openConnection('history');
    await relay.onApplicationShutdown();
    expect(again.isClosed()).toBe(true);
    expect(states).toEqual(['closed']);
  });

  // Kills the shared server: keep it last.
  it('reports reconnecting while the server is down and resumes subscriptions after', async () => {
    const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const logged = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const states: RelayState[] = [];
    b.onStateChange((s) => states.push(s));
    let comebacks = 0;
    b.onReconnected(() => comebacks++);
    const before = freshSubject('before-outage');
    const kept = new Inbox(b, before);
    await b.flush();

    await server.kill();
    await Promise.all([waitForState(a, 'reconnecting'), waitForState(b, 'reconnecting')]);
    const during = freshSubject('during-outage');
    const madeDuringOutage = new Inbox(b, during);
    await expect(
      a.publishEphemeral(freshSubject('buffered'), text('buffered')),
    ).resolves.toBeUndefined();
    await server.restart();
    await Promise.all([waitForState(a, 'connected'), waitForState(b, 'connected')]);
    await b.flush();
    await a.publishEphemeral(before, text('after restart'));
    await a.publishEphemeral(during, text('after restart'));
    await roundTrip(a, b);

    expect(kept.texts).toEqual(['after restart']);
    expect(madeDuringOutage.texts).toEqual(['after restart']);
    expect(states).toEqual(['reconnecting', 'connected']);
    // The first connection was not a comeback; this one is, once.
    expect(comebacks).toBe(1);
    expect(warned).toHaveBeenCalledWith(expect.objectContaining({ msg: 'nats disconnected' }));
    expect(logged).toHaveBeenCalledWith(expect.objectContaining({ msg: 'nats reconnected' }));
  });
});
