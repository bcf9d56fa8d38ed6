import { waitFor, WsTestClient } from '@app/testing';
import { sign, type SignOptions } from 'jsonwebtoken';
import { ChildReplica } from '../support/child-replica';
import { scrapeMetrics } from '../support/prometheus';

/**
 * Observable auth: each refused connection (WebSocket upgrade or REST 401) is logged once at info
 * with its reason class, counted by reason, and a WebSocket close reason names the class, while
 * the token itself never reaches the log. Runs the build as a child process to read its real log.
 */

const SECRET = 'an-auth-refusals-secret-that-is-long-enough';
const ISSUER = 'issuer-1';
const AUDIENCE = 'realtime';
const METRIC = 'realtime_auth_refused_total';

const signed = (options: SignOptions = {}, secret = SECRET): string =>
  sign({}, secret, {
    algorithm: 'HS256',
    subject: 'refused-user',
    issuer: ISSUER,
    audience: AUDIENCE,
    expiresIn: '1h',
    ...options,
  });

function unsigned(): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'refused-user', iss: ISSUER, aud: AUDIENCE })}.`;
}

interface LogLine {
  level?: number;
  msg?: string;
  transport?: string;
  reason?: string;
}

/** Pino's level number for info. */
const INFO = 30;

describe('refused connections', () => {
  let replica: ChildReplica;
  const tokens: string[] = [];

  /** The replica's JSON log lines that report a refusal. */
  const refusals = (): LogLine[] =>
    replica.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine)
      .filter((line) => line.msg === 'connection refused');

  /** Runs `attempt` and returns the one refusal line it logged and how much the counter moved. */
  async function observe(
    attempt: () => Promise<void>,
    labels: Record<string, string>,
  ): Promise<{ lines: LogLine[]; counted: number }> {
    const linesBefore = refusals().length;
    const countBefore = (await scrapeMetrics(replica.url)).value(METRIC, labels);
    await attempt();
    await waitFor('the refusal log line', () => refusals().length > linesBefore, {
      detail: () => replica.output,
    });
    const counted = (await scrapeMetrics(replica.url)).value(METRIC, labels) - countBefore;
    return { lines: refusals().slice(linesBefore), counted };
  }

  beforeAll(async () => {
    replica = await ChildReplica.start({
      id: 'auth-refusals',
      env: { JWT_SECRET: SECRET, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, LOG_LEVEL: 'info' },
    });
  });
  afterAll(() => replica?.close());

  const cases: Array<[string, () => string, string]> = [
    ['expired', () => signed({ expiresIn: -10 }), 'token expired'],
    [
      'bad_signature',
      () => signed({}, 'another-secret-that-is-long-enough-too-0123'),
      'unauthorized',
    ],
    ['wrong_algorithm', () => signed({ algorithm: 'HS512' }), 'unauthorized'],
    ['wrong_issuer', () => signed({ issuer: 'someone-else' }), 'unauthorized'],
    ['wrong_audience', () => signed({ audience: 'elsewhere' }), 'unauthorized'],
    [
      'missing_sub',
      () => sign({}, SECRET, { algorithm: 'HS256', issuer: ISSUER, audience: AUDIENCE }),
      'unauthorized',
    ],
    ['malformed', () => 'not-a-jwt', 'unauthorized'],
  ];

  it.each(cases)(
    'WebSocket, %s: close 4001 naming the class, one info line, counted',
    async (reason, make, closeReason) => {
      const token = make();
      tokens.push(token);
      let closed: unknown;
      const { lines, counted } = await observe(
        async () => {
          const client = await WsTestClient.connect(replica.wsUrl, { token });
          closed = await client.closed;
        },
        { transport: 'ws', reason },
      );
      expect(closed).toEqual({ code: 4001, reason: closeReason });
      expect(lines).toEqual([expect.objectContaining({ level: INFO, transport: 'ws', reason })]);
      expect(counted).toBe(1);
    },
  );

  it('refuses alg none as a wrong algorithm, and a token in the query string the same way', async () => {
    const token = unsigned();
    tokens.push(token);
    let closed: unknown;
    const { lines, counted } = await observe(
      async () => {
        const client = await WsTestClient.connect(
          `${replica.wsUrl}?access_token=${encodeURIComponent(token)}`,
        );
        closed = await client.closed;
      },
      { transport: 'ws', reason: 'wrong_algorithm' },
    );
    expect(closed).toEqual({ code: 4001, reason: 'unauthorized' });
    expect(lines).toEqual([
      expect.objectContaining({ transport: 'ws', reason: 'wrong_algorithm' }),
    ]);
    expect(counted).toBe(1);
  });

  it.each([
    ['expired', () => signed({ expiresIn: -10 })],
    ['bad_signature', () => signed({}, 'another-secret-that-is-long-enough-too-0123')],
    ['missing', () => undefined],
  ])('REST, %s: 401 unauthorized, one info line, counted', async (reason, make) => {
    const token = make();
    if (token !== undefined) tokens.push(token);
    let status = 0;
    let body: unknown;
    const { lines, counted } = await observe(
      async () => {
        const response = await fetch(`${replica.url}/presence/users/someone`, {
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
        });
        status = response.status;
        body = await response.json();
      },
      { transport: 'http', reason },
    );
    expect(status).toBe(401);
    expect(body).toMatchObject({ code: 'unauthorized' });
    expect(lines).toEqual([expect.objectContaining({ level: INFO, transport: 'http', reason })]);
    expect(counted).toBe(1);
  });

  it('lets a good token in without a refusal, and never logs a refused token', async () => {
    const before = refusals().length;
    const good = await WsTestClient.open(replica.wsUrl, { token: signed() });
    await good.close();
    expect(refusals()).toHaveLength(before);
    expect(tokens.length).toBeGreaterThanOrEqual(10);
    // A JWT's signature part is the most specific string of each; a whole token includes it.
    for (const token of tokens) {
      expect(replica.output).not.toContain(token);
      const signature = token.split('.')[2];
      if (signature) expect(replica.output).not.toContain(signature);
    }
  });
});
