import { generateKeyPairSync } from 'node:crypto';
import { WsTestClient, type TestApp } from '@app/testing';
import { sign, type SignOptions } from 'jsonwebtoken';
import { startReplica } from '../support/replica';
import { tokenFor } from '../support/tokens';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

/** Opens a socket with `token` and resolves with the close it gets, or 'open' after a welcome. */
async function outcome(url: string, token?: string, query = false): Promise<number | 'open'> {
  const target = query && token ? `${url}?access_token=${encodeURIComponent(token)}` : url;
  const client = await WsTestClient.connect(target, query ? {} : { token });
  const first = await Promise.race([
    client.nextEvent('welcome').then(() => 'open' as const),
    client.closed.then((c) => c.code),
  ]);
  await client.close();
  return first;
}

function unsigned(sub: string): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub, exp: Math.floor(Date.now() / 1000) + 60 })}.`;
}

describe('auth with an HS256 secret', () => {
  let app: TestApp;
  const hs = (sub: string, opts: SignOptions = {}): string =>
    sign({}, SECRET, { algorithm: 'HS256', subject: sub, expiresIn: '1h', ...opts });

  beforeAll(async () => {
    app = await startReplica({ JWT_SECRET: SECRET, WS_PING_INTERVAL_MS: '60000' });
  });
  afterAll(() => app?.close());

  const matrix: Array<[string, number | 'open', () => string, boolean]> = [
    ['a valid header token', 'open', () => hs('u1'), false],
    ['a valid access_token query parameter', 'open', () => hs('u1'), true],
    ['garbage', 4001, () => 'not-a-jwt', false],
    ['a token signed with another key', 4001, () => tokenFor('u1'), false],
    ['an expired token', 4001, () => hs('u1', { expiresIn: -10 }), false],
    ['alg none', 4001, () => unsigned('u1'), false],
    ['a token without sub', 4001, () => sign({}, SECRET, { algorithm: 'HS256' }), false],
    [
      'HS512 with the right secret (algorithm pinned)',
      4001,
      () => hs('u1', { algorithm: 'HS512' }),
      false,
    ],
  ];

  it.each(matrix)('%s → %s', async (_, expected, make, query) => {
    expect(await outcome(app.wsUrl, make(), query)).toBe(expected);
  });

  it('lets anonymous connections in, with userId null, and refuses them chat', async () => {
    const anon = await WsTestClient.connect(app.wsUrl);
    const welcome = await anon.nextEvent('welcome');
    expect(welcome.data.userId).toBeNull();
    const answer = await anon.request('chat.join', { room: 'r' });
    expect(answer).toMatchObject({ event: 'error', data: { code: 'unauthorized' } });
    await anon.close();
  });

  it('closes with 4001 when the token expires, unless refreshed in time', async () => {
    const soon = () => hs('u2', { expiresIn: 2 });
    const expiring = await WsTestClient.open(app.wsUrl, { token: soon() });
    const refreshed = await WsTestClient.open(app.wsUrl, { token: soon() });
    await refreshed.call('auth.refresh', { token: hs('u2', { expiresIn: 60 }) });
    const wrongUser = await refreshed.request('auth.refresh', { token: hs('u3') });
    expect(wrongUser).toMatchObject({ event: 'error', data: { code: 'forbidden' } });
    const older = await refreshed.request('auth.refresh', { token: hs('u2', { expiresIn: 30 }) });
    expect(older).toMatchObject({ event: 'error', data: { code: 'bad_request' } });

    expect(await expiring.closed).toEqual({ code: 4001, reason: 'token expired' });
    // The refreshed one outlived the first token: it still answers.
    await refreshed.call('chat.join', { room: 'still-here' });
    await refreshed.close();
  });
});

describe('auth with an RS256 public key', () => {
  let app: TestApp;
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  beforeAll(async () => {
    app = await startReplica({
      JWT_PUBLIC_KEY: publicPem,
      JWT_ISSUER: 'issuer-1',
      JWT_AUDIENCE: 'realtime',
    });
  });
  afterAll(() => app?.close());

  const rs = (opts: SignOptions = {}): string =>
    sign({}, privatePem, {
      algorithm: 'RS256',
      subject: 'u1',
      issuer: 'issuer-1',
      audience: 'realtime',
      expiresIn: '1h',
      ...opts,
    });

  it('accepts a token signed with the private key, issuer and audience right', async () => {
    expect(await outcome(app.wsUrl, rs())).toBe('open');
  });

  it('refuses the wrong issuer or audience', async () => {
    expect(await outcome(app.wsUrl, rs({ issuer: 'someone-else' }))).toBe(4001);
    expect(await outcome(app.wsUrl, rs({ audience: 'other' }))).toBe(4001);
  });

  it('refuses HS256 signed with the public key as the secret (RS/HS confusion)', async () => {
    const forged = [
      Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url'),
      Buffer.from(
        JSON.stringify({
          sub: 'u1',
          iss: 'issuer-1',
          aud: 'realtime',
          exp: Math.floor(Date.now() / 1000) + 60,
        }),
      ).toString('base64url'),
    ].join('.');
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', publicPem).update(forged).digest('base64url');
    expect(await outcome(app.wsUrl, `${forged}.${signature}`)).toBe(4001);
  });
});
