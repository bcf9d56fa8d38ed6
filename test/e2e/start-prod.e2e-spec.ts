import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor, WsTestClient } from '@app/testing';
import { tokenFor } from '../support/tokens';

const root = join(__dirname, '..', '..');

/**
 * The real start-up path: the `start:prod` script from the build, as deployments run it. It runs
 * through `sh -c exec` rather than npm because npm does not forward SIGTERM to its child.
 */
const startProd = (
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts['start:prod'];

describe('a replica started from the build', () => {
  let child: ChildProcess;
  let port: number;
  let output = '';

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'src', 'main.js'))) {
      throw new Error('dist/src/main.js is missing: run `npm run build` first (npm test does)');
    }
    port = await freePort();
    child = spawn('sh', ['-c', `exec ${startProd}`], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        NODE_ENV: 'test',
        NATS_URL: '',
        REPLICA_ID: 'prod-1',
        DRAIN_WINDOW_MS: '200',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(
      'the replica to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`the replica exited:\n${output}`);
        const status = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.status);
        return status === 200;
      },
      { timeoutMs: 30_000 },
    );
  });

  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('serves WebSocket chat and REST', async () => {
    const client = await WsTestClient.open(`ws://127.0.0.1:${port}/ws`, {
      token: tokenFor('prod-user'),
    });
    await client.call('chat.join', { room: 'prod' });
    const sent = await client.call<{ seq: number }>('chat.send', {
      room: 'prod',
      body: 'from the build',
    });
    const { data } = await client.nextEvent<{ seq: number; body: string }>('chat.message');
    expect(data).toMatchObject({ seq: sent.seq, body: 'from the build' });
    expect((await fetch(`http://127.0.0.1:${port}/health/live`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/docs-json`)).status).toBe(200);

    // SIGTERM: the client is told to reconnect, closed with 1012, and the process exits 0.
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    const reconnect = await client.nextEvent<{ reason: string }>('reconnect');
    expect(reconnect.data.reason).toBe('draining');
    expect((await client.closed).code).toBe(1012);
    expect(await exited).toBe(0);
  });
});
