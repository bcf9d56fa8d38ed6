import { hostname } from 'node:os';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import type { NatsSecurity } from '@app/relay';
import { EnvSchema } from './env.schema';
import { natsConnectionConfig } from './nats-security.config';

/** Used when no key is configured outside production; a warning is logged at start-up. */
export const DEVELOPMENT_JWT_SECRET = 'development-secret-not-for-production-use-0000';

export type JwtKey =
  { kind: 'secret'; secret: string; development: boolean } | { kind: 'public'; publicKey: string };

/** The typed, validated configuration. Built once; nothing else reads `process.env`. */
export class AppConfig {
  readonly env!: 'development' | 'test' | 'production';
  readonly port!: number;
  /** Connections the kernel queues for `accept` (capped by `net.core.somaxconn`). */
  readonly listenBacklog!: number;
  /** Without credentials: safe to log. */
  readonly natsServers!: string[];
  /** Credentials and TLS of every NATS connection (secrets: never log this). */
  readonly natsSecurity!: NatsSecurity;
  readonly replicaId!: string;
  readonly logLevel!: string;
  readonly jwt!: {
    key: JwtKey;
    privateKey?: string;
    issuer?: string;
    audience?: string;
  };
  readonly ws!: {
    maxPayloadBytes: number;
    maxBufferedBytes: number;
    ratePerSecond: number;
    rateBurst: number;
    pingIntervalMs: number;
  };
  readonly httpMaxBodyBytes!: number;
  /** Input refused before parsing, and what one connection or user may hold (docs/protocol.md). */
  readonly limits!: {
    jsonMaxDepth: number;
    maxRooms: number;
    maxStreams: number;
    maxInFlight: number;
    maxConnectionsPerUser: number;
  };
  readonly presence!: {
    graceMs: number;
    /**
     * A replica is dropped once 3 heartbeats were missed (checked four times a beat): with the
     * defaults (2 s, grace 5 s) its users leave within about 11.5 s, inside the contract's 15 s.
     */
    heartbeatMs: number;
    syncWindowMs: number;
  };
  readonly drainWindowMs!: number;
  /** History appends in flight on this replica; past it a publish gets `overloaded`. */
  readonly publishMaxInflight!: number;
  readonly rooms!: {
    /** Patterns of rooms open to every signed-in user (`ROOMS_OPEN`); empty for `none`. */
    open: readonly string[];
  };
  readonly history!: {
    stream: string;
    maxMessages: number;
    maxAgeMs: number;
    replicas: number;
  };
  /** Set when `WEBHOOK_URL` is: where and how transitions are reported. */
  readonly webhooks?: {
    urls: string[];
    secret: string;
    batchMs: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Validates `env` and builds the config; throws one `ConfigError` naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const schema = plainToInstance(EnvSchema, withoutBlanks(env));
  // One message per variable: its first failed rule says enough.
  const problems = validateSync(schema, { stopAtFirstError: true }).flatMap((error) =>
    Object.values(error.constraints ?? {}).map((message) => `${error.property}: ${message}`),
  );
  if (schema.NODE_ENV === 'production' && !schema.JWT_SECRET && !schema.JWT_PUBLIC_KEY) {
    problems.push('JWT_SECRET: JWT_SECRET or JWT_PUBLIC_KEY is required when NODE_ENV=production');
  }
  if (schema.JWT_SECRET && schema.JWT_PUBLIC_KEY) {
    problems.push('JWT_SECRET: set JWT_SECRET or JWT_PUBLIC_KEY, not both');
  }
  const nats = natsConnectionConfig(schema, problems);
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  const key: JwtKey = schema.JWT_PUBLIC_KEY
    ? { kind: 'public', publicKey: schema.JWT_PUBLIC_KEY }
    : {
        kind: 'secret',
        secret: schema.JWT_SECRET ?? DEVELOPMENT_JWT_SECRET,
        development: !schema.JWT_SECRET,
      };
  const environment = schema.NODE_ENV as AppConfig['env'];
  return Object.freeze<AppConfig>({
    env: environment,
    port: schema.PORT,
    listenBacklog: schema.LISTEN_BACKLOG,
    natsServers: nats.servers,
    natsSecurity: nats.security,
    replicaId: schema.REPLICA_ID ?? `${hostname()}-${process.pid}`,
    logLevel: schema.LOG_LEVEL ?? (environment === 'test' ? 'warn' : 'info'),
    jwt: {
      key,
      privateKey: schema.JWT_PRIVATE_KEY,
      issuer: schema.JWT_ISSUER,
      audience: schema.JWT_AUDIENCE,
    },
    ws: {
      maxPayloadBytes: schema.WS_MAX_PAYLOAD_BYTES,
      maxBufferedBytes: schema.WS_MAX_BUFFERED_BYTES,
      ratePerSecond: schema.WS_RATE_PER_SECOND,
      rateBurst: schema.WS_RATE_BURST,
      pingIntervalMs: schema.WS_PING_INTERVAL_MS,
    },
    httpMaxBodyBytes: schema.HTTP_MAX_BODY_BYTES,
    limits: {
      jsonMaxDepth: schema.JSON_MAX_DEPTH,
      maxRooms: schema.WS_MAX_ROOMS,
      maxStreams: schema.WS_MAX_STREAMS,
      maxInFlight: schema.WS_MAX_INFLIGHT,
      maxConnectionsPerUser: schema.MAX_CONNECTIONS_PER_USER,
    },
    presence: {
      graceMs: schema.PRESENCE_GRACE_MS,
      heartbeatMs: schema.PRESENCE_HEARTBEAT_MS,
      syncWindowMs: schema.PRESENCE_SYNC_WINDOW_MS,
    },
    drainWindowMs: schema.DRAIN_WINDOW_MS,
    publishMaxInflight: schema.PUBLISH_MAX_INFLIGHT,
    rooms: { open: roomPatterns(schema.ROOMS_OPEN) },
    history: {
      stream: schema.HISTORY_STREAM,
      maxMessages: schema.HISTORY_MAX_MESSAGES,
      maxAgeMs: schema.HISTORY_MAX_AGE_MS,
      replicas: schema.HISTORY_REPLICAS,
    },
    ...(schema.WEBHOOK_URL &&
      schema.WEBHOOK_SECRET && {
        webhooks: {
          urls: schema.WEBHOOK_URL.split(',').map((url) => url.trim()),
          secret: schema.WEBHOOK_SECRET,
          batchMs: schema.WEBHOOK_BATCH_MS,
        },
      }),
  });
}

function roomPatterns(list: string): string[] {
  return list.trim() === 'none' ? [] : list.split(',').map((p) => p.trim());
}

/** An empty variable (`FOO=`) means unset, as in most shells' and compose files' habits. */
function withoutBlanks(env: Record<string, string | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') result[name] = value;
  }
  return result;
}
