/**
 * The `exp` claim of a JWT, in seconds, read without verifying it (only the server can): the
 * client needs it to refresh in time. Undefined when the token is not a JWT or has no `exp`.
 */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '='));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof claims !== 'object' || claims === null) return undefined;
    const exp = (claims as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * When to refresh a token received at `nowMs`: `fraction` of the way to its expiry. Undefined for
 * a token without `exp`, which never needs refreshing.
 */
export function refreshTime(token: string, fraction: number, nowMs: number): number | undefined {
  const exp = tokenExpiry(token);
  if (exp === undefined) return undefined;
  const lifetime = exp * 1000 - nowMs;
  return nowMs + Math.max(0, lifetime * fraction);
}

/** The token the client connects with, and when it needs another. */
export class TokenState {
  token?: string;
  refreshAt?: number;
  expiresAt?: number;
  /** The server closed with 4001: the next connection needs a new token. */
  rejected = false;

  /** `fraction`: when to refresh (see `refreshTime`); false never refreshes. */
  constructor(private readonly fraction: number | false) {}

  set(token: string, nowMs: number): void {
    this.token = token;
    this.rejected = false;
    const exp = tokenExpiry(token);
    this.expiresAt = exp === undefined ? undefined : exp * 1000;
    this.refreshAt = this.fraction === false ? undefined : refreshTime(token, this.fraction, nowMs);
  }

  /** True when a connection must get a new token first: none yet, refused, due or expired. */
  due(nowMs: number): boolean {
    return (
      this.token === undefined ||
      this.rejected ||
      (this.refreshAt !== undefined && nowMs >= this.refreshAt) ||
      (this.expiresAt !== undefined && nowMs >= this.expiresAt)
    );
  }
}
