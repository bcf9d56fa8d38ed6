import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pinoHttp, type Options } from 'pino-http';
import { loadConfig } from '../config';
import { loggerOptions } from './logger.options';
import { REDACTED, redactText } from './redaction';

const SECRET = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl';

function pinoHttpOptions(env: Record<string, string>): Options {
  return loggerOptions(loadConfig({ LOG_LEVEL: 'info', ...env })).pinoHttp as Options;
}

describe(loggerOptions.name, () => {
  const lines: Array<Record<string, unknown>> = [];
  let output = '';
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        for (const line of chunk.toString().trim().split('\n'))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const middleware = pinoHttp(pinoHttpOptions({ NODE_ENV: 'test' }), stream);
    server = createServer((req: IncomingMessage & { log?: typeof middleware.logger }, res) => {
      middleware(req, res);
      // What careless application code might log inside a request.
      req.log?.info({ url: req.url, headers: req.headers }, `handling ${req.url}`);
      req.log?.warn({ err: new Error(`upstream refused Bearer ${SECRET}`) }, 'failed');
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise((resolve) => server.close(resolve)));

  beforeEach(() => {
    lines.length = 0;
    output = '';
  });

  async function completed(): Promise<Record<string, unknown>> {
    for (let i = 0; i < 100; i++) {
      const line = lines.find((l) => l.msg === 'request completed');
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no "request completed" line in:\n${output}`);
  }

  it('removes access_token from a request URL in the req serializer', () => {
    const serialize = pinoHttpOptions({ NODE_ENV: 'test' }).serializers?.req as (req: {
      method: string;
      url: string;
    }) => { url: string };
    const { url: logged } = serialize({ method: 'GET', url: `/ws?room=a&access_token=${SECRET}` });
    expect(logged).toBe(`/ws?room=a&access_token=${REDACTED}`);
    expect(logged).not.toContain(SECRET);
  });

  it('redacts every credential on every line of a request, which all carry its id', async () => {
    const response = await fetch(`${url}/ws?room=lobby&access_token=${SECRET}`, {
      headers: {
        authorization: `Bearer ${SECRET}`,
        cookie: `session=${SECRET}`,
        'x-request-id': 'req-42',
      },
    });
    expect(response.headers.get('x-request-id')).toBe('req-42');
    const done = await completed();

    expect(output).not.toContain(SECRET);
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.requestId === 'req-42')).toBe(true);
    expect(done.req).toEqual({
      method: 'GET',
      url: `/ws?room=lobby&access_token=${REDACTED}`,
    });
    const [handling, failed] = lines;
    expect(handling).toMatchObject({
      url: `/ws?room=lobby&access_token=${REDACTED}`,
      msg: `handling /ws?room=lobby&access_token=${REDACTED}`,
      headers: { authorization: REDACTED, cookie: REDACTED },
    });
    expect((failed?.err as { message: string }).message).toBe(
      `upstream refused Bearer ${REDACTED}`,
    );
  });

  it('makes up a request id when the incoming one is not sane', async () => {
    const response = await fetch(url, { headers: { 'x-request-id': 'x'.repeat(200) } });
    await completed();
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.every((l) => l.requestId === id)).toBe(true);
  });

  it('finds tokens in free text', () => {
    expect(redactText(`GET /ws?access_token=${SECRET}&x=1`)).toBe(
      `GET /ws?access_token=${REDACTED}&x=1`,
    );
    expect(redactText(`jwt ${SECRET} rejected`)).toBe(`jwt ${REDACTED} rejected`);
    expect(redactText('refused: access_token=abc.def')).toBe(`refused: access_token=${REDACTED}`);
    expect(redactText('nothing to see')).toBe('nothing to see');
    expect(redactText('connect to nats://replica:s3cret@nats-1:4222 failed')).toBe(
      `connect to nats://${REDACTED}@nats-1:4222 failed`,
    );
    expect(redactText('tls://t0ken@h:4222, mail me@example.com')).toBe(
      `tls://${REDACTED}@h:4222, mail me@example.com`,
    );
  });

  it('writes JSON in production and in tests, pretty only in development', () => {
    const production = pinoHttpOptions({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) });
    expect(production.transport).toBeUndefined();
    expect(pinoHttpOptions({ NODE_ENV: 'test' }).transport).toBeUndefined();
    expect(pinoHttpOptions({ NODE_ENV: 'development' }).transport).toMatchObject({
      target: 'pino-pretty',
    });
  });
});
