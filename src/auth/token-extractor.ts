import type { IncomingMessage } from 'node:http';

/** The bearer token of a request: `Authorization: Bearer …`, else the `access_token` query parameter. */
export function extractToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1] ?? header;
  }
  const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('access_token');
  return query ?? undefined;
}
