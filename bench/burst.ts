/**
 * `npm run bench:burst [-- <PUBLISH_MAX_INFLIGHT>]` (≈ 1 min, needs `npm run build`): issue 10's
 * finding 4. One replica of dist/ (child process) on its own nats-server; one publisher joined to
 * 100 rooms (one other member each) writes 20,000 `chat.send` as fast as its socket takes them.
 * Prints how the sends were answered, how many messages reached the members, and the replica's
 * peak RSS. Every stored message must be answered `{id, seq}` and delivered once.
 */
import { spawn } from 'node:child_process';
import { freePort, startNatsServer } from '@app/testing';
import { WebSocket } from 'ws';
import { sleep } from './lib/clock';
import { rssKb } from './lib/proc-stats';
import { openSocket, parseFrame, request } from './lib/sockets';

const SENDS = 20_000;
const ROOMS = 100;
const SECRET = 'bench-burst-secret-0123456789-0123456789';

async function main(): Promise<void> {
  const limit = process.argv[2] ?? '1000';
  const nats = await startNatsServer();
  const port = await freePort();
  const replica = spawn(process.execPath, ['dist/src/main.js'], {
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      NATS_URL: nats.url,
      JWT_SECRET: SECRET,
      LOG_LEVEL: 'error',
      WS_RATE_PER_SECOND: '1000000',
      WS_RATE_BURST: '1000000',
      WS_MAX_INFLIGHT: String(SENDS),
      PUBLISH_MAX_INFLIGHT: limit,
    },
  });
  try {
    while (
      (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined))?.ok !== true
    )
      await sleep(200);
    const url = `ws://127.0.0.1:${port}/ws`;
    const auth = { secret: SECRET, userPrefix: 'burst-' };
    const publisher = await openSocket(url, auth, 0);
    let delivered = 0;
    const members: WebSocket[] = [];
    for (let r = 0; r < ROOMS; r++) {
      await request(publisher, 'chat.join', { room: `r${r}` }, SENDS + r);
      const member = await openSocket(url, auth, r + 1);
      await request(member, 'chat.join', { room: `r${r}` }, 1);
      member.on('message', (raw: Buffer) => {
        if (parseFrame(raw)?.event === 'chat.message') delivered++;
      });
      members.push(member);
    }
    const answers: Record<string, number> = {};
    let answered = 0;
    let peakKb = 0;
    const sampler = setInterval(() => (peakKb = Math.max(peakKb, rssKb(replica.pid ?? 0))), 100);
    const started = Date.now();
    const done = new Promise<void>((resolve) =>
      publisher.on('message', (raw: Buffer) => {
        const frame = parseFrame(raw);
        if (frame?.event !== 'reply' && frame?.event !== 'error') return;
        const message = typeof frame.data.message === 'string' ? frame.data.message : '';
        const kind =
          frame.event === 'reply'
            ? 'stored'
            : `${String(frame.data.code)}${message.includes('may or may not') ? ' (may or may not be stored)' : ''}`;
        answers[kind] = (answers[kind] ?? 0) + 1;
        if (++answered === SENDS) resolve();
      }),
    );
    for (let i = 0; i < SENDS; i++) {
      publisher.send(
        JSON.stringify({
          event: 'chat.send',
          data: { room: `r${i % ROOMS}`, body: `m${i}`, ref: i },
        }),
      );
    }
    await done;
    const answeredInMs = Date.now() - started;
    await sleep(2_000); // deliveries still on their way
    clearInterval(sampler);
    process.stdout.write(
      `${JSON.stringify({ publishMaxInflight: Number(limit), sends: SENDS, answeredInMs, answers, delivered, replicaPeakRssMiB: Math.round(peakKb / 1024) })}\n`,
    );
    for (const ws of [publisher, ...members]) ws.terminate();
  } finally {
    replica.kill('SIGKILL');
    await nats.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
