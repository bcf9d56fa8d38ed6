import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import {
  makeTestCertificates,
  startNatsServer,
  waitFor,
  type NatsServerHandle,
  type TestCertificates,
} from '@app/testing';
import { nkeys } from 'nats';
import { natsConnectionOptions, withoutCredentials, type NatsSecurity } from './nats-connection';
import { NatsRefusedError } from './nats-refusal';
import { NatsRelay } from './nats.relay';
import { freshSubject, Inbox, text } from './relay.contract';

Logger.overrideLogger(['error']);

const encoder = new TextEncoder();
// nats.js types its nkeys export as `any`.
const { createUser } = nkeys as {
  createUser: () => { getSeed(): Uint8Array; getPublicKey(): string };
};
const userKey = createUser();
const seed = userKey.getSeed();
/**
 * A creds file as `nsc` writes it. The server here runs without an operator, so it checks the nkey
 * signature and not the JWT: this proves the file is read and signed with, not operator mode.
 */
const creds = encoder.encode(
  [
    '-----BEGIN NATS USER JWT-----',
    'eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.e30.c2ln',
    '------END NATS USER JWT------',
    '',
    '-----BEGIN USER NKEY SEED-----',
    new TextDecoder().decode(seed),
    '------END USER NKEY SEED------',
    '',
  ].join('\n'),
);

/** Connects a relay with `security`, proves a round trip through the broker, and shuts it down. */
async function roundTrip(url: string, security: NatsSecurity): Promise<void> {
  const relay = new NatsRelay({ servers: [url], name: 'secured', security, reconnectTimeWait: 50 });
  await relay.onModuleInit();
  try {
    const subject = freshSubject('secured');
    const inbox = new Inbox(relay, subject);
    await relay.flush();
    await relay.publishEphemeral(subject, text('hello'));
    await inbox.waitFor(1, 'the message back');
  } finally {
    await relay.onApplicationShutdown();
  }
}

/** The refusal a relay's start-up ends with (it must not retry forever). */
async function refusal(url: string, security: NatsSecurity): Promise<NatsRefusedError> {
  const relay = new NatsRelay({ servers: [url], name: 'refused', security, reconnectTimeWait: 50 });
  const error = await relay.onModuleInit().then(
    () => undefined,
    (err: unknown) => err,
  );
  await relay.onApplicationShutdown();
  expect(error).toBeInstanceOf(NatsRefusedError);
  return error as NatsRefusedError;
}

describe(natsConnectionOptions.name, () => {
  let dir: string;
  let certs: TestCertificates;
  let users: NatsServerHandle;
  let tokenServer: NatsServerHandle;
  let mutualTls: NatsServerHandle;
  let plain: NatsServerHandle;

  async function serverWith(name: string, config: string): Promise<NatsServerHandle> {
    const configFile = join(dir, `${name}.conf`);
    await writeFile(configFile, config);
    return startNatsServer({ jetstream: false, configFile });
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nats-connection-'));
    certs = await makeTestCertificates();
    [users, tokenServer, mutualTls, plain] = await Promise.all([
      serverWith(
        'users',
        `authorization { users: [ {user: app, password: "p@ss word"}, {nkey: ${userKey.getPublicKey()}} ] }`,
      ),
      serverWith('token', 'authorization { token: "t0ken" }'),
      serverWith(
        'mtls',
        `tls { cert_file: "${certs.certFile}", key_file: "${certs.keyFile}", ca_file: "${certs.caFile}", verify: true }`,
      ),
      startNatsServer({ jetstream: false }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([users, tokenServer, mutualTls, plain].map((s) => s?.stop()));
    await certs?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('connects with a user and password', async () => {
    await roundTrip(users.url, {
      auth: { kind: 'password', user: 'app', pass: 'p@ss word', source: 'NATS_USER' },
    });
  });

  it('connects with an nkey seed, and with a creds file', async () => {
    await roundTrip(users.url, { auth: { kind: 'nkey', seed, source: 'NATS_NKEY_SEED_FILE' } });
    await roundTrip(users.url, { auth: { kind: 'creds', creds, source: 'NATS_CREDS_FILE' } });
  });

  it('connects with a token', async () => {
    await roundTrip(tokenServer.url, { auth: { kind: 'token', token: 't0ken', source: 'X' } });
  });

  it('connects with mutual TLS: the CA, a client certificate and its key', async () => {
    await roundTrip(mutualTls.url, {
      tls: {
        ca: certs.ca,
        cert: await readFile(certs.certFile, 'utf8'),
        key: await readFile(certs.keyFile, 'utf8'),
        source: 'NATS_TLS_*',
      },
    });
  });

  it('opens further connections (history reads) with the same credentials', async () => {
    const security: NatsSecurity = {
      auth: { kind: 'token', token: 't0ken', source: 'NATS_TOKEN' },
    };
    const relay = new NatsRelay({ servers: [tokenServer.url], name: 'main', security });
    await relay.onModuleInit();
    try {
      const extra = await relay.openConnection('history');
      await extra.flush();
      expect(extra.getServer()).toBe(relay.connection.getServer());
    } finally {
      await relay.onApplicationShutdown();
    }
  });

  it('ends start-up on refused credentials, naming where they came from', async () => {
    const wrongPassword = await refusal(users.url, {
      auth: { kind: 'password', user: 'app', pass: 'nope', source: 'NATS_USER, NATS_PASSWORD' },
    });
    expect(wrongPassword.message).toMatch(
      /^NATS refused the credentials from NATS_USER, NATS_PASSWORD \(.*Authorization Violation.*\)$/,
    );
    expect(wrongPassword.message).not.toContain('nope');
    const wrongToken = await refusal(tokenServer.url, {
      auth: { kind: 'token', token: 'guess', source: 'NATS_TOKEN' },
    });
    expect(wrongToken.message).toMatch(/from NATS_TOKEN/);
    expect((await refusal(users.url, {})).message).toMatch(/none are configured/);
  });

  it('ends start-up when TLS is required and the server does not offer it', async () => {
    const error = await refusal(plain.url, { tls: { source: 'tls:// in NATS_URL' } });
    expect(error.message).toMatch(/does not offer TLS, which tls:\/\/ in NATS_URL requires/);
  });

  it('ends start-up on a server certificate it cannot verify', async () => {
    // No CA given: the system's CAs do not know our private CA.
    const unknownCa = await refusal(mutualTls.url, { tls: { source: 'NATS_TLS_CA_FILE' } });
    expect(unknownCa.message).toMatch(
      /^TLS with NATS failed \(unable to verify the first certificate\): check NATS_TLS_CA_FILE$/,
    );
  });

  it('keeps waiting for a broker that is not up yet, until shut down', async () => {
    // A port that takes connections and drops them at once: each of the relay's attempts is seen.
    let attempts = 0;
    const notNats = createServer((socket) => {
      attempts++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => notNats.listen(0, '127.0.0.1', resolve));
    const { port } = notNats.address() as AddressInfo;
    const relay = new NatsRelay({
      servers: [`nats://127.0.0.1:${port}`],
      name: 'w',
      reconnectTimeWait: 20,
    });
    const settled = jest.fn();
    const connecting = relay.onModuleInit().then(settled, settled);
    await waitFor('three connection attempts', () => attempts >= 3);
    expect(settled).not.toHaveBeenCalled();
    notNats.close();
    await relay.onApplicationShutdown();
    await connecting;
    expect(settled).toHaveBeenCalledWith(
      expect.objectContaining({ message: expect.stringMatching(/shut down/) as string }),
    );
  });
});

describe(withoutCredentials.name, () => {
  it.each([
    ['nats://u:p@h:4222', 'nats://h:4222'],
    ['tls://token@h:4222', 'tls://h:4222'],
    ['u:p@h:4222', 'h:4222'],
    ['nats://h:4222', 'nats://h:4222'],
    ['[::1]:4222', '[::1]:4222'],
  ])('%s → %s', (server, expected) => {
    expect(withoutCredentials(server)).toBe(expected);
  });
});
