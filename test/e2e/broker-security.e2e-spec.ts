import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  makeTestCertificates,
  startNatsServer,
  startReplicas,
  waitFor,
  WsTestClient,
  type NatsServerHandle,
  type Replicas,
  type TestApp,
  type TestCertificates,
} from '@app/testing';
import { connect, Events, type NatsConnection, type NatsError, type Status } from 'nats';
import { BUILD_ENTRY, ChildReplica } from '../support/child-replica';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

/**
 * The shipped broker security, for real: nats-server with TLS (certificates from the shipped
 * deploy/nats/make-certs.sh) and the users and permissions of deploy/nats/auth.conf. Replicas relay
 * through it; a publishing service may push but not read or forge; refusals stop start-up cleanly.
 */

const ROOT = join(__dirname, '..', '..');
const REPLICA_PASSWORD = `replica-${randomBytes(12).toString('hex')}`;
const PUBLISHER_PASSWORD = `publisher-${randomBytes(12).toString('hex')}`;
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const decode = (data: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(data));

/** A test nats-server config derived from the shipped one: its users, our certificates. */
function writeServerConfig(certs: TestCertificates): string {
  copyFileSync(join(ROOT, 'deploy', 'nats', 'auth.conf'), join(certs.dir, 'auth.conf'));
  const file = join(certs.dir, 'nats.conf');
  writeFileSync(
    file,
    [
      'include ./auth.conf',
      'tls {',
      `  cert_file: "${certs.certFile}"`,
      `  key_file: "${certs.keyFile}"`,
      `  ca_file: "${certs.caFile}"`,
      '}',
    ].join('\n'),
  );
  return file;
}

interface StartupFailure {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the build with `env` and waits for it to exit (it must refuse to start). */
function startExpectingFailure(env: Record<string, string>): Promise<StartupFailure> {
  const child = spawn(process.execPath, [BUILD_ENTRY], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A bound, not a speed check: a replica that never exits is killed and fails on its exit code.
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('broker security (TLS, users, permissions)', () => {
  let certs: TestCertificates;
  let nats: NatsServerHandle;
  let tlsUrl: string;
  let replicas: Replicas<TestApp, 2>;
  let publisher: NatsConnection;
  const publisherErrors: Status[] = [];

  beforeAll(async () => {
    certs = await makeTestCertificates();
    nats = await startNatsServer({
      configFile: writeServerConfig(certs),
      env: { NATS_REPLICA_PASSWORD: REPLICA_PASSWORD, NATS_PUBLISHER_PASSWORD: PUBLISHER_PASSWORD },
    });
    tlsUrl = `tls://127.0.0.1:${nats.port}`;
    replicas = await startReplicas(2, (i) =>
      startReplica({
        REPLICA_ID: `secure-${i}`,
        NATS_URL: tlsUrl,
        NATS_USER: 'replica',
        NATS_PASSWORD: REPLICA_PASSWORD,
        NATS_TLS_CA_FILE: certs.caFile,
        // Webhooks on (their work queue and key-value bucket): nothing listens there, deliveries
        // only retry; what matters is that their NATS traffic passes the replica's permissions.
        WEBHOOK_URL: 'http://127.0.0.1:9/hooks',
        WEBHOOK_SECRET: 'w'.repeat(32),
      }),
    );
    publisher = await connect({
      servers: `127.0.0.1:${nats.port}`,
      user: 'publisher',
      pass: PUBLISHER_PASSWORD,
      tls: { ca: certs.ca },
    });
    void (async () => {
      for await (const status of publisher.status()) {
        if (status.type === Events.Error) publisherErrors.push(status);
      }
    })();
  }, 60_000);

  afterAll(async () => {
    await publisher?.close();
    await replicas?.closeAll();
    await nats?.stop();
    await certs?.remove();
  });

  it('relays chat between two replicas through the secured broker', async () => {
    const [a, b] = replicas.apps;
    const alice = await WsTestClient.open(a.wsUrl, { token: tokenFor('alice') });
    const bob = await WsTestClient.open(b.wsUrl, { token: tokenFor('bob') });
    await alice.call('chat.join', { room: 'secure' });
    await bob.call('chat.join', { room: 'secure' });
    const sent = await alice.call<{ seq: number }>('chat.send', { room: 'secure', body: 'hi' });
    const { data } = await bob.nextEvent<{ seq: number; body: string; from: string }>(
      'chat.message',
    );
    expect(data).toMatchObject({ seq: sent.seq, body: 'hi', from: 'alice' });
    // A late joiner resumes from history: the JetStream reads run under the replica's permissions.
    const late = await WsTestClient.open(b.wsUrl, { token: tokenFor('dave') });
    await late.call('chat.join', { room: 'secure', since: 0 });
    const replayed = await late.nextEvent<{ seq: number; body: string }>('chat.message');
    expect(replayed.data).toMatchObject({ seq: sent.seq, body: 'hi' });
    await Promise.all([alice.close(), bob.close(), late.close()]);
  });

  it('lets a publishing service push and publish notifications', async () => {
    const [a, b] = replicas.apps;
    const onA = await WsTestClient.open(a.wsUrl);
    const onB = await WsTestClient.open(b.wsUrl);
    await onA.call('notifications.subscribe', { streams: ['public.news'] });
    await onB.call('notifications.subscribe', { streams: ['public.news'] });

    publisher.publish('notifications.push', encode({ stream: 'public.news', payload: 'pushed' }));
    const answer = await publisher.request(
      'notifications.publish',
      encode({ stream: 'public.news', payload: 'published' }),
      { timeout: 5000 },
    );
    expect(decode(answer.data)).toMatchObject({ response: { seq: expect.any(Number) as number } });

    for (const client of [onA, onB]) {
      const payloads = (await client.take<{ payload: string }>('notification', 2)).map(
        (n) => n.payload,
      );
      expect(payloads.sort()).toEqual(['published', 'pushed']);
    }
    await onA.close();
    await onB.close();
  });

  it('refuses the publishing user live.> and rt.>, and members get nothing forged', async () => {
    const [a] = replicas.apps;
    const member = await WsTestClient.open(a.wsUrl, { token: tokenFor('carol') });
    await member.call('chat.join', { room: 'guarded' });

    const readRefused = new Promise<NatsError>((resolve) => {
      publisher.subscribe('live.>', { callback: (err) => err && resolve(err) });
    });
    expect((await readRefused).permissionContext).toEqual({
      operation: 'subscription',
      subject: 'live.>',
      queue: undefined,
    });

    publisher.publish('rt.room.guarded', encode({ forged: true }));
    await waitFor('the publish violation on rt.room.guarded', () =>
      publisherErrors.some(
        (s) =>
          s.permissionContext?.operation === 'publish' &&
          s.permissionContext.subject === 'rt.room.guarded',
      ),
    );

    // The bystander: the next message it gets is the real one, nothing forged came first.
    const sent = await member.call<{ seq: number }>('chat.send', { room: 'guarded', body: 'real' });
    const { data } = await member.nextEvent<{ seq: number; body: unknown }>('chat.message');
    expect(data).toMatchObject({ seq: sent.seq, body: 'real' });
    await member.close();
  });

  it('gives the replicas every subject they used: the server saw no violation of theirs', () => {
    // Publisher violations above are expected; a replica's would mean auth.conf misses a subject.
    const violations = nats.output.split('\n').filter((line) => /Violation/i.test(line));
    expect(violations.filter((line) => !/publisher/.test(line))).toEqual([]);
    expect(violations.length).toBeGreaterThan(0);
  });

  describe('start-up (the build, as a child process)', () => {
    const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
    let plain: NatsServerHandle;
    let wrongCredentials: StartupFailure;
    let tlsToPlain: StartupFailure;

    // One after the other: a Node start-up each, and the machine is shared.
    beforeAll(async () => {
      plain = await startNatsServer({ jetstream: false });
      wrongCredentials = await startExpectingFailure({
        NATS_URL: tlsUrl,
        NATS_USER: 'replica',
        NATS_PASSWORD: wrongPassword,
        NATS_TLS_CA_FILE: certs.caFile,
      });
      tlsToPlain = await startExpectingFailure({ NATS_URL: `tls://127.0.0.1:${plain.port}` });
    }, 120_000);

    afterAll(() => plain?.stop());

    it('stops on wrong credentials with one line naming the variables, no stack, no password', () => {
      const run = wrongCredentials;
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^NATS refused the credentials from NATS_USER, NATS_PASSWORD \(/,
        ) as string,
      ]);
      expect(`${run.stdout}${run.stderr}`).not.toMatch(/\n\s+at /);
      expect(`${run.stdout}${run.stderr}`).not.toContain(wrongPassword);
    });

    it('refuses tls:// against a server that does not offer TLS', () => {
      expect(tlsToPlain.code).toBe(1);
      expect(tlsToPlain.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/does not offer TLS, which tls:\/\/ in NATS_URL requires/) as string,
      ]);
      expect(tlsToPlain.stdout).not.toMatch(/\n\s+at /);
    });

    it('honours credentials in NATS_URL and never logs the password', async () => {
      const replica = await ChildReplica.start({
        id: 'url-credentials',
        natsUrl: `tls://replica:${REPLICA_PASSWORD}@127.0.0.1:${nats.port}`,
        env: { LOG_LEVEL: 'info', NATS_TLS_CA_FILE: certs.caFile },
      });
      try {
        const listening = replica.output
          .split('\n')
          .find((line) => line.includes('"msg":"listening"'));
        expect(listening).toBeDefined();
        const fields = JSON.parse(listening!) as { nats: string[]; replica: string };
        expect(fields.nats).toEqual([`tls://127.0.0.1:${nats.port}`]);
        // One `replica` key: JSON.parse keeps the last of duplicates, the text shows both.
        expect(listening!.match(/"replica":/g)).toHaveLength(1);
      } finally {
        await replica.terminate();
      }
      expect(replica.output).not.toContain(REPLICA_PASSWORD);
    });
  });
});
