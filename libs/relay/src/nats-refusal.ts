import { ErrorCode, NatsError } from 'nats';
import type { NatsSecurity } from './nats-connection';

/**
 * The broker refused this replica for a reason that waiting cannot fix (credentials, TLS). Start-up
 * prints its message, one line naming the settings at fault, and stops; it never holds a secret.
 */
export class NatsRefusedError extends Error {
  override name = 'NatsRefusedError';
}

const AUTH_CODES = new Set<string>([
  ErrorCode.AuthorizationViolation,
  ErrorCode.AuthenticationExpired,
  ErrorCode.AuthenticationTimeout,
  ErrorCode.AccountExpired,
]);
const TLS_NOT_OFFERED: string = ErrorCode.ServerOptionNotAvailable;
const TLS_FAILED: string = ErrorCode.Tls;
// Node's codes for a failed handshake: bad or unknown certificate, wrong host name, alerts.
const NODE_TLS_CODE = /CERT|SSL|TLS|SIGNATURE|ALTNAME|ISSUER/;

/**
 * What a failed first connection means: a `NatsRefusedError` when retrying is pointless, else
 * undefined (the broker is not reachable yet: the caller retries).
 */
export function natsRefusal(error: unknown, security: NatsSecurity): NatsRefusedError | undefined {
  const { auth, tls } = security;
  const code = codeOf(error);
  if (AUTH_CODES.has(code)) {
    const detail = messageOf(error);
    return new NatsRefusedError(
      auth === undefined
        ? `NATS refused the connection (${detail}): it needs credentials and none are configured`
        : `NATS refused the credentials from ${auth.source} (${detail})`,
    );
  }
  if (code === TLS_NOT_OFFERED && tls !== undefined) {
    return new NatsRefusedError(
      `NATS does not offer TLS, which ${tls.source} requires: refusing to connect in plain text`,
    );
  }
  const nested = error instanceof NatsError ? error.chainedError : undefined;
  if (code === TLS_FAILED || NODE_TLS_CODE.test(code) || NODE_TLS_CODE.test(codeOf(nested))) {
    const detail = messageOf(nested ?? error);
    return new NatsRefusedError(
      tls === undefined
        ? `TLS with NATS failed (${detail}): no TLS settings are configured`
        : `TLS with NATS failed (${detail}): check ${tls.source}`,
    );
  }
  return undefined;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** The first line only: start-up prints one line, and nats.js messages never hold a URL. */
function messageOf(error: unknown): string {
  // Duck-typed: Node's TLS errors come from another realm under jest, where `instanceof` fails.
  const own = (error as { message?: unknown } | undefined)?.message;
  const message = typeof own === 'string' ? own : String(error);
  return message.split('\n', 1)[0] ?? '';
}
