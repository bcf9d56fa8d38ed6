import { sign } from 'jsonwebtoken';
import { WebSocket } from 'ws';
import { withTimeout } from './clock';
import type { Auth } from './protocol';

const OPEN_TIMEOUT_MS = 15_000;

export interface Frame {
  event: string;
  data: Record<string, unknown>;
}

export function tokenFor(secret: string, userId: string): string {
  return sign({}, secret, { algorithm: 'HS256', subject: userId, expiresIn: '1h' });
}

/** A raw ws server's URL for a room member (`room`) or a user of direct messages (`user`). */
export function rawUrl(url: string, params: { room?: string; user?: string }): string {
  return `${url}?${new URLSearchParams(params).toString()}`;
}

/**
 * Opens one client socket, authenticated as `${auth.userPrefix}${index}` when `auth` is set, and
 * resolves once it is usable: after `welcome` for ours (the server's first frame), on open for raw.
 */
export async function openSocket(url: string, auth: Auth, index: number): Promise<WebSocket> {
  const headers: Record<string, string> = auth
    ? { authorization: `Bearer ${tokenFor(auth.secret, `${auth.userPrefix}${index}`)}` }
    : {};
  const ws = new WebSocket(url, { headers, perMessageDeflate: false, skipUTF8Validation: true });
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('close', (code) => reject(new Error(`closed with ${code} before ready`)));
    if (auth) {
      ws.once('message', (raw: Buffer) => {
        const frame = parseFrame(raw);
        if (frame?.event === 'welcome') resolve();
        else reject(new Error(`expected welcome, got ${raw.toString().slice(0, 120)}`));
      });
    } else {
      ws.once('open', () => resolve());
    }
  });
  try {
    await withTimeout(ready, OPEN_TIMEOUT_MS, `open ${url}`);
  } catch (error) {
    ws.terminate();
    throw error;
  }
  ws.removeAllListeners('error');
  ws.removeAllListeners('close');
  ws.on('error', () => undefined);
  return ws;
}

/** Sends a request with `ref` and resolves with its reply; rejects on an `error` frame. */
export function request(
  ws: WebSocket,
  event: string,
  data: Record<string, unknown>,
  ref: number,
): Promise<Frame> {
  const answer = new Promise<Frame>((resolve, reject) => {
    const onMessage = (raw: Buffer): void => {
      const frame = parseFrame(raw);
      if (!frame || frame.data.ref !== ref) return;
      ws.off('message', onMessage);
      if (frame.event === 'reply') resolve(frame);
      else reject(new Error(`${event} failed: ${JSON.stringify(frame.data)}`));
    };
    ws.on('message', onMessage);
  });
  ws.send(JSON.stringify({ event, data: { ...data, ref } }));
  return withTimeout(answer, OPEN_TIMEOUT_MS, `${event} reply`);
}

export function parseFrame(raw: Buffer): Frame | undefined {
  try {
    const value: unknown = JSON.parse(raw.toString());
    if (typeof value !== 'object' || value === null) return undefined;
    const { event, data } = value as { event?: unknown; data?: unknown };
    if (typeof event !== 'string' || typeof data !== 'object' || data === null) return undefined;
    return { event, data: data as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/**
 * Reads the non-negative integer that follows `marker` in `raw` without parsing the frame (the
 * subscribers read 100 k frames/s and must cost as little as possible); -1 when absent.
 */
export function intAfter(raw: Buffer, marker: Buffer): number {
  const at = raw.indexOf(marker);
  if (at < 0) return -1;
  let value = 0;
  let i = at + marker.length;
  for (; i < raw.length; i++) {
    const c = raw[i] ?? 0;
    if (c < 48 || c > 57) break;
    value = value * 10 + (c - 48);
  }
  return i === at + marker.length ? -1 : value;
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight; collects fulfilled results. */
export async function runBounded<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<{ results: T[]; errors: unknown[] }> {
  const results: T[] = [];
  const errors: unknown[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      try {
        results.push(await task(index));
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { results, errors };
}
