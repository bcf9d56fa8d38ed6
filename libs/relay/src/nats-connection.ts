import {
  credsAuthenticator,
  nkeyAuthenticator,
  type ConnectionOptions,
  type TlsOptions,
} from 'nats';

/**
 * How a replica proves who it is to NATS. Exactly one kind; `source` names where it came from (the
 * environment variables), so a refusal can say what to fix without ever printing the secret.
 */
export type NatsAuth =
  | { kind: 'password'; user: string; pass: string; source: string }
  | { kind: 'token'; token: string; source: string }
  /** A `.creds` file: the user JWT and its nkey seed (decentralised auth). */
  | { kind: 'creds'; creds: Uint8Array; source: string }
  | { kind: 'nkey'; seed: Uint8Array; source: string };

/** TLS is required whenever this is set: the connection fails if the server does not offer it. */
export interface NatsTls {
  /** PEM contents, already read: CA bundle to trust (absent: the system's), client cert and key. */
  ca?: string;
  cert?: string;
  key?: string;
  source: string;
}

/** Everything a NATS connection needs beyond its servers. */
export interface NatsSecurity {
  auth?: NatsAuth;
  tls?: NatsTls;
}

/**
 * The one builder of `nats` connection options: the relay, its extra connections and the Nest NATS
 * microservice all connect with these, so they can never disagree on credentials or TLS.
 * `servers` must carry no credentials (they live in `security.auth`).
 */
export function natsConnectionOptions(
  servers: readonly string[],
  name: string,
  security: NatsSecurity = {},
): ConnectionOptions {
  const options: ConnectionOptions = { servers: [...servers], name };
  const { auth, tls } = security;
  switch (auth?.kind) {
    case 'password':
      options.user = auth.user;
      options.pass = auth.pass;
      break;
    case 'token':
      options.token = auth.token;
      break;
    case 'creds':
      options.authenticator = credsAuthenticator(auth.creds);
      break;
    case 'nkey':
      options.authenticator = nkeyAuthenticator(auth.seed);
      break;
  }
  // nats.js only insists on TLS when `tls` is an object; `tls://` alone is silently dropped.
  if (tls !== undefined) options.tls = tlsOptions(tls);
  return options;
}

function tlsOptions({ ca, cert, key }: NatsTls): TlsOptions {
  const options: TlsOptions = {};
  if (ca !== undefined) options.ca = ca;
  if (cert !== undefined) options.cert = cert;
  if (key !== undefined) options.key = key;
  return options;
}

/** `nats://user:pass@host:4222` → `nats://host:4222`: for nats.js and for log lines. */
export function withoutCredentials(server: string): string {
  return server.replace(/^((?:[a-z]+:\/\/)?)[^@/]*@/i, '$1');
}

/**
 * Throws unless a creds file or nkey seed can sign a nonce, so a broken file stops start-up at
 * once instead of at the first connection. Other kinds have nothing to check before connecting.
 */
export function assertUsableAuth(auth: NatsAuth): void {
  const options = natsConnectionOptions([], 'check', { auth });
  const sign = options.authenticator;
  if (typeof sign === 'function') sign('start-up check');
}
