/** What the page asks of the service that served it over HTTP: its mode, tokens, the cluster. */

/**
 * - `development`: no key configured and not production: `POST /auth/dev-token` signs tokens.
 * - `tokens`: a key is configured or NODE_ENV=production: bring your own token.
 * - `unreachable`: the service did not answer.
 */
export type Mode = 'development' | 'tokens' | 'unreachable';

export interface ReplicaReport {
  instance: string;
  replica: string;
  self: boolean;
  reportedAt: number;
  connections?: number;
  channels?: number;
  framesIn?: number;
  framesOut?: number;
  deliveries?: number;
}

export type ClusterAnswer =
  | { ok: true; development: boolean; replicas: ReplicaReport[] }
  | { ok: false; status: number; message: string };

/** `GET /cluster`: open outside production; in production it needs `cluster:read`. */
export async function fetchCluster(token?: string): Promise<ClusterAnswer> {
  let response: Response;
  try {
    response = await fetch('/cluster', {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      cache: 'no-store',
    });
  } catch {
    return { ok: false, status: 0, message: 'the replica that served this page did not answer' };
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { message?: unknown };
    const message = typeof body.message === 'string' ? body.message : response.statusText;
    return { ok: false, status: response.status, message };
  }
  const body = (await response.json()) as { development: boolean; replicas: ReplicaReport[] };
  return { ok: true, development: body.development, replicas: body.replicas };
}

/** The mode, told by the cluster view: a 401/403 there means production. */
export async function detectMode(): Promise<Mode> {
  const answer = await fetchCluster();
  if (answer.ok) return answer.development ? 'development' : 'tokens';
  return answer.status === 401 || answer.status === 403 ? 'tokens' : 'unreachable';
}

export class DevTokensDisabled extends Error {
  constructor() {
    super('development tokens are disabled on this service');
  }
}

/** `POST /auth/dev-token {userId}`: a 1 h token; 404 unless the service runs in development. */
export async function devToken(userId: string): Promise<string> {
  const response = await fetch('/auth/dev-token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  if (response.status === 404) throw new DevTokensDisabled();
  const body = (await response.json().catch(() => ({}))) as { token?: unknown; message?: unknown };
  if (!response.ok || typeof body.token !== 'string') {
    throw new Error(typeof body.message === 'string' ? body.message : `HTTP ${response.status}`);
  }
  return body.token;
}

/**
 * The WebSocket URLs to use: `?urls=ws://a/ws,ws://b/ws` (the SDK moves to the next one when a
 * replica drains or cannot be reached), else the endpoint of the replica that served the page.
 */
export function wsUrls(search: string, location: Location): { urls: string[]; invalid: string[] } {
  const listed = new URLSearchParams(search).get('urls');
  const invalid: string[] = [];
  const urls: string[] = [];
  for (const candidate of (listed ?? '').split(',').map((u) => u.trim())) {
    if (!candidate) continue;
    try {
      const url = new URL(candidate);
      if (url.protocol === 'ws:' || url.protocol === 'wss:') urls.push(url.href);
      else invalid.push(candidate);
    } catch {
      invalid.push(candidate);
    }
  }
  if (urls.length === 0) {
    urls.push(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  }
  return { urls, invalid };
}
