import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from '@app/testing';
import { nkeys } from 'nats';
import { ConfigError, loadConfig } from './app-config';
import { natsConnectionConfig } from './nats-security.config';

// nats.js types its nkeys export as `any`.
const { createUser } = nkeys as { createUser: () => { getSeed(): Uint8Array } };

/** The one-line problems `loadConfig` would report for `env`. */
function problemsOf(env: Record<string, string>): string[] {
  const problems: string[] = [];
  natsConnectionConfig(env, problems);
  return problems;
}

describe(natsConnectionConfig.name, () => {
  let dir: string;
  let certs: TestCertificates;
  const file = (name: string, content: string | Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nats-env-'));
    certs = await makeTestCertificates();
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await certs.remove();
  });

  it('honours credentials in NATS_URL and strips them from the servers', () => {
    const sut = loadConfig({ NATS_URL: 'nats://app:p%40ss@h1:4222, nats://app:p%40ss@h2:4222' });
    expect(sut.natsServers).toEqual(['nats://h1:4222', 'nats://h2:4222']);
    expect(sut.natsSecurity).toEqual({
      auth: { kind: 'password', user: 'app', pass: 'p@ss', source: 'NATS_URL' },
    });
    expect(loadConfig({ NATS_URL: 'tok3n@h1:4222' }).natsSecurity.auth).toEqual({
      kind: 'token',
      token: 'tok3n',
      source: 'NATS_URL',
    });
  });

  it('takes user + password, token, an nkey seed file and a creds file', () => {
    const seed = new TextDecoder().decode(createUser().getSeed());
    const creds = [
      '-----BEGIN NATS USER JWT-----',
      'eyJ0eXAiOiJKV1QifQ.e30.c2ln',
      '------END NATS USER JWT------',
      '-----BEGIN USER NKEY SEED-----',
      seed,
      '------END USER NKEY SEED------',
      '',
    ].join('\n');
    const url = { NATS_URL: 'nats://h:4222' };
    expect(loadConfig({ ...url, NATS_USER: 'u', NATS_PASSWORD: 'p' }).natsSecurity.auth).toEqual({
      kind: 'password',
      user: 'u',
      pass: 'p',
      source: 'NATS_USER, NATS_PASSWORD',
    });
    expect(loadConfig({ ...url, NATS_TOKEN: 't' }).natsSecurity.auth).toMatchObject({
      kind: 'token',
      source: 'NATS_TOKEN',
    });
    const nkey = loadConfig({ ...url, NATS_NKEY_SEED_FILE: file('seed', `${seed}\n`) });
    expect(nkey.natsSecurity.auth).toEqual({
      kind: 'nkey',
      seed: new TextEncoder().encode(seed),
      source: 'NATS_NKEY_SEED_FILE',
    });
    const fromCreds = loadConfig({ ...url, NATS_CREDS_FILE: file('user.creds', creds) });
    expect(fromCreds.natsSecurity.auth).toMatchObject({ kind: 'creds', source: 'NATS_CREDS_FILE' });
  });

  it('requires TLS for tls:// or any TLS file, with the files read', () => {
    expect(loadConfig({ NATS_URL: 'tls://h:4222' }).natsSecurity.tls).toEqual({
      source: 'tls:// in NATS_URL',
    });
    const sut = loadConfig({
      NATS_URL: 'nats://h:4222',
      NATS_TLS_CA_FILE: certs.caFile,
      NATS_TLS_CERT_FILE: certs.certFile,
      NATS_TLS_KEY_FILE: certs.keyFile,
    });
    expect(sut.natsSecurity.tls).toEqual({
      ca: certs.ca,
      cert: expect.stringContaining('BEGIN CERTIFICATE') as string,
      key: expect.stringContaining('PRIVATE KEY') as string,
      source: 'NATS_TLS_CA_FILE, NATS_TLS_CERT_FILE, NATS_TLS_KEY_FILE',
    });
  });

  it.each([
    [{ NATS_USER: 'u' }, 'NATS_USER: needs NATS_URL'],
    [{ NATS_URL: 'h:1', NATS_USER: 'u' }, 'NATS_USER: NATS_USER and NATS_PASSWORD go together'],
    [
      { NATS_URL: 'nats://u:p@h:1', NATS_TOKEN: 't' },
      'NATS_URL, NATS_TOKEN: set one kind of NATS credentials, not several',
    ],
    [{ NATS_URL: 'nats://u:p@h:1,nats://h:2' }, 'NATS_URL: give every server the same credentials'],
    [{ NATS_URL: 'h:1', NATS_TLS_KEY_FILE: '/nope' }, 'NATS_TLS_CERT_FILE: NATS_TLS_CERT_FILE and'],
    [
      { NATS_URL: 'h:1', NATS_TLS_CA_FILE: '/nope/ca.pem' },
      'NATS_TLS_CA_FILE: cannot read /nope/ca.pem (ENOENT)',
    ],
  ])('refuses %j: %s', (env, problem) => {
    expect(problemsOf(env).join('\n')).toContain(problem);
  });

  it('names files that are not what their variable says, without their contents', () => {
    const junk = file('junk', 'SECRET-CONTENT');
    const problems = problemsOf({
      NATS_URL: 'h:1',
      NATS_TLS_CA_FILE: junk,
      NATS_TLS_CERT_FILE: junk,
      NATS_TLS_KEY_FILE: junk,
    });
    expect(problems).toEqual([
      `NATS_TLS_CA_FILE: ${junk} is not a PEM certificate`,
      `NATS_TLS_CERT_FILE: ${junk} is not a PEM certificate`,
      `NATS_TLS_KEY_FILE: ${junk} is not a PEM private key`,
    ]);
    expect(problemsOf({ NATS_URL: 'h:1', NATS_NKEY_SEED_FILE: junk })).toEqual([
      'NATS_NKEY_SEED_FILE: not an nkey seed (SU…)',
    ]);
    expect(problemsOf({ NATS_URL: 'h:1', NATS_CREDS_FILE: junk })).toEqual([
      'NATS_CREDS_FILE: not a NATS credentials file',
    ]);
  });

  it('never puts a password in its error', () => {
    const attempt = () =>
      loadConfig({ NATS_URL: 'nats://u:hunter2@h:1', NATS_USER: 'u', NATS_PASSWORD: 'hunter3' });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/set one kind/);
    expect(attempt).not.toThrow(/hunter/);
  });
});
