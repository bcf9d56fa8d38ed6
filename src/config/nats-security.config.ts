import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  assertUsableAuth,
  withoutCredentials,
  type NatsAuth,
  type NatsSecurity,
  type NatsTls,
} from '@app/relay';
import type { EnvSchema } from './env.schema';

/** The broker part of the config: servers without credentials, and the credentials and TLS. */
export interface NatsConnectionConfig {
  servers: string[];
  security: NatsSecurity;
}

type NatsEnv = Pick<
  EnvSchema,
  | 'NATS_URL'
  | 'NATS_USER'
  | 'NATS_PASSWORD'
  | 'NATS_TOKEN'
  | 'NATS_CREDS_FILE'
  | 'NATS_NKEY_SEED_FILE'
  | 'NATS_TLS_CA_FILE'
  | 'NATS_TLS_CERT_FILE'
  | 'NATS_TLS_KEY_FILE'
>;

const SECURITY_VARIABLES = [
  'NATS_USER',
  'NATS_PASSWORD',
  'NATS_TOKEN',
  'NATS_CREDS_FILE',
  'NATS_NKEY_SEED_FILE',
  'NATS_TLS_CA_FILE',
  'NATS_TLS_CERT_FILE',
  'NATS_TLS_KEY_FILE',
] as const;

/**
 * Builds the broker settings from validated variables, reading and checking every file now: a
 * problem is pushed to `problems` naming its variable, never its value (they hold secrets).
 */
export function natsConnectionConfig(env: NatsEnv, problems: string[]): NatsConnectionConfig {
  const entries = env.NATS_URL ? env.NATS_URL.split(',').map((s) => s.trim()) : [];
  const servers = entries.map(withoutCredentials);
  if (entries.length === 0) {
    for (const name of SECURITY_VARIABLES) {
      if (env[name] !== undefined) problems.push(`${name}: needs NATS_URL (it secures the broker)`);
    }
    return { servers, security: {} };
  }
  const auth = credentials(env, entries, problems);
  const tls = tlsSettings(env, entries, problems);
  return { servers, security: { ...(auth && { auth }), ...(tls && { tls }) } };
}

function credentials(env: NatsEnv, entries: string[], problems: string[]): NatsAuth | undefined {
  const fromUrl = urlCredentials(entries, problems);
  const kinds: NatsAuth[] = [];
  if (fromUrl) kinds.push(fromUrl);
  if (env.NATS_USER !== undefined || env.NATS_PASSWORD !== undefined) {
    if (env.NATS_USER === undefined || env.NATS_PASSWORD === undefined) {
      problems.push('NATS_USER: NATS_USER and NATS_PASSWORD go together');
    } else {
      kinds.push({
        kind: 'password',
        user: env.NATS_USER,
        pass: env.NATS_PASSWORD,
        source: 'NATS_USER, NATS_PASSWORD',
      });
    }
  }
  if (env.NATS_TOKEN !== undefined) {
    kinds.push({ kind: 'token', token: env.NATS_TOKEN, source: 'NATS_TOKEN' });
  }
  const creds = readFile('NATS_CREDS_FILE', env.NATS_CREDS_FILE, problems);
  if (creds !== undefined) kinds.push({ kind: 'creds', creds, source: 'NATS_CREDS_FILE' });
  const seed = readFile('NATS_NKEY_SEED_FILE', env.NATS_NKEY_SEED_FILE, problems);
  if (seed !== undefined) {
    // A seed file may end with a newline; the seed itself is one token.
    const trimmed = new TextEncoder().encode(new TextDecoder().decode(seed).trim());
    kinds.push({ kind: 'nkey', seed: trimmed, source: 'NATS_NKEY_SEED_FILE' });
  }
  if (kinds.length > 1) {
    problems.push(
      `${kinds.map((k) => k.source).join(', ')}: set one kind of NATS credentials, not several`,
    );
    return undefined;
  }
  const [auth] = kinds;
  if (auth === undefined) return undefined;
  try {
    assertUsableAuth(auth);
  } catch {
    const what = auth.kind === 'creds' ? 'a NATS credentials file' : 'an nkey seed (SU…)';
    problems.push(`${auth.source}: not ${what}`);
    return undefined;
  }
  return auth;
}

/** `nats://user:pass@host` or `nats://token@host`; nats.js itself would ignore them. */
function urlCredentials(entries: string[], problems: string[]): NatsAuth | undefined {
  const userinfo = entries.map((entry) => /^(?:[a-z]+:\/\/)?([^@/]*)@/i.exec(entry)?.[1]);
  const distinct = new Set(userinfo.filter((u) => u !== undefined));
  if (distinct.size === 0) return undefined;
  if (distinct.size > 1 || userinfo.includes(undefined)) {
    problems.push('NATS_URL: give every server the same credentials, or move them to NATS_USER');
    return undefined;
  }
  const [info = ''] = distinct;
  const colon = info.indexOf(':');
  try {
    return colon < 0
      ? { kind: 'token', token: decodeURIComponent(info), source: 'NATS_URL' }
      : {
          kind: 'password',
          user: decodeURIComponent(info.slice(0, colon)),
          pass: decodeURIComponent(info.slice(colon + 1)),
          source: 'NATS_URL',
        };
  } catch {
    problems.push('NATS_URL: credentials must be percent-encoded');
    return undefined;
  }
}

function tlsSettings(env: NatsEnv, entries: string[], problems: string[]): NatsTls | undefined {
  const sources: string[] = [];
  if (entries.some((entry) => /^tls:\/\//i.test(entry))) sources.push('tls:// in NATS_URL');
  if ((env.NATS_TLS_CERT_FILE === undefined) !== (env.NATS_TLS_KEY_FILE === undefined)) {
    problems.push('NATS_TLS_CERT_FILE: NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE go together');
  }
  const ca = readPem('NATS_TLS_CA_FILE', env.NATS_TLS_CA_FILE, problems, certificate);
  const cert = readPem('NATS_TLS_CERT_FILE', env.NATS_TLS_CERT_FILE, problems, certificate);
  const key = readPem('NATS_TLS_KEY_FILE', env.NATS_TLS_KEY_FILE, problems, privateKey);
  for (const name of ['NATS_TLS_CA_FILE', 'NATS_TLS_CERT_FILE', 'NATS_TLS_KEY_FILE'] as const) {
    if (env[name] !== undefined) sources.push(name);
  }
  if (sources.length === 0) return undefined;
  return {
    ...(ca !== undefined && { ca }),
    ...(cert !== undefined && { cert }),
    ...(key !== undefined && { key }),
    source: sources.join(', '),
  };
}

function readFile(name: string, path: string | undefined, problems: string[]): Buffer | undefined {
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push(`${name}: cannot read ${path} (${code})`);
    return undefined;
  }
}

const certificate = (pem: string): unknown => new X509Certificate(pem);
const privateKey = (pem: string): unknown => createPrivateKey(pem);

function readPem(
  name: string,
  path: string | undefined,
  problems: string[],
  parse: (pem: string) => unknown,
): string | undefined {
  const pem = readFile(name, path, problems)?.toString('utf8');
  if (pem === undefined) return undefined;
  try {
    parse(pem);
    return pem;
  } catch {
    const what = parse === privateKey ? 'a PEM private key' : 'a PEM certificate';
    problems.push(`${name}: ${path} is not ${what}`);
    return undefined;
  }
}
