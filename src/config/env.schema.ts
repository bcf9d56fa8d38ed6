import { Transform } from 'class-transformer';
import {
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;

/** `nats://host:port` entries, comma-separated (also tls://, ws://, wss:// or bare host:port). */
const NATS_SERVER = String.raw`((nats|tls|ws|wss)://)?([^\s,/@]+@)?(\[[0-9A-Fa-f:]+\]|[^\s,/:@[\]]+)(:\d{1,5})?`;
const NATS_SERVER_LIST = new RegExp(String.raw`^\s*${NATS_SERVER}\s*(,\s*${NATS_SERVER}\s*)*$`);

const ROOM_PATTERN = String.raw`\s*([A-Za-z0-9._:-]{0,128}\*|[A-Za-z0-9._:-]{1,128})\s*`;
const ROOMS_OPEN = new RegExp(String.raw`^(\s*none\s*|${ROOM_PATTERN}(,${ROOM_PATTERN})*)$`);
/** `http(s)://…` entries, comma-separated. */
const WEBHOOK_URL_LIST = /^\s*https?:\/\/[^\s,]+\s*(,\s*https?:\/\/[^\s,]+\s*)*$/;

/**
 * The environment the service reads, validated once at start-up. Every variable is documented in
 * docs/configuration.md. Numbers arrive as strings and are converted before validation.
 * Rules run bottom-up and only a variable's first failure is reported, so the type rule sits
 * nearest the property name.
 */
export class EnvSchema {
  @IsIn(['development', 'test', 'production'])
  NODE_ENV: string = 'development';

  @Transform(toInt)
  @Min(0)
  @Max(65535)
  @IsInt()
  PORT: number = 3000;

  @IsOptional()
  @Matches(NATS_SERVER_LIST, {
    message: 'NATS_URL must be a comma-separated list of nats://host:port (or tls://, user:pass@)',
  })
  NATS_URL?: string;

  /** Broker credentials, one kind at most (docs/deploy.md, "Securing the broker"). */
  @IsOptional() @IsString() NATS_USER?: string;
  @IsOptional() @IsString() NATS_PASSWORD?: string;
  @IsOptional() @IsString() NATS_TOKEN?: string;
  @IsOptional() @IsString() NATS_CREDS_FILE?: string;
  @IsOptional() @IsString() NATS_NKEY_SEED_FILE?: string;

  /** Any of these (or a tls:// URL) requires TLS: start-up fails if the broker does not offer it. */
  @IsOptional() @IsString() NATS_TLS_CA_FILE?: string;
  @IsOptional() @IsString() NATS_TLS_CERT_FILE?: string;
  @IsOptional() @IsString() NATS_TLS_KEY_FILE?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._:-]{1,64}$/, { message: 'REPLICA_ID must be 1-64 of A-Za-z0-9._:-' })
  REPLICA_ID?: string;

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @IsOptional()
  @IsString()
  @Matches(/-----BEGIN PUBLIC KEY-----/, { message: 'JWT_PUBLIC_KEY must be a PEM public key' })
  JWT_PUBLIC_KEY?: string;

  /** Only for minting tokens (`npm run token`) when the service verifies with a public key. */
  @IsOptional()
  @IsString()
  @Matches(/-----BEGIN (EC |RSA )?PRIVATE KEY-----/, {
    message: 'JWT_PRIVATE_KEY must be a PEM private key',
  })
  JWT_PRIVATE_KEY?: string;

  @IsOptional() @IsString() JWT_ISSUER?: string;
  @IsOptional() @IsString() JWT_AUDIENCE?: string;

  @IsOptional()
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL?: string;

  @Transform(toInt)
  @Min(1024)
  @Max(16 * 1024 * 1024)
  @IsInt()
  WS_MAX_PAYLOAD_BYTES: number = 64 * 1024;

  @Transform(toInt)
  @Min(1024)
  @Max(16 * 1024 * 1024)
  @IsInt()
  HTTP_MAX_BODY_BYTES: number = 64 * 1024;

  @Transform(toInt)
  @Min(64 * 1024)
  @IsInt()
  WS_MAX_BUFFERED_BYTES: number = 4 * 1024 * 1024;

  @Transform(toInt)
  @Min(1)
  @IsInt()
  WS_RATE_PER_SECOND: number = 100;

  @Transform(toInt)
  @Min(1)
  @IsInt()
  WS_RATE_BURST: number = 200;

  /** WS frames, REST bodies and NATS payloads nested deeper get `bad_request` before parsing. */
  @Transform(toInt)
  @Min(2)
  @Max(1000)
  @IsInt()
  JSON_MAX_DEPTH: number = 32;

  @Transform(toInt)
  @Min(1)
  @Max(100_000)
  @IsInt()
  WS_MAX_ROOMS: number = 128;

  @Transform(toInt)
  @Min(1)
  @Max(100_000)
  @IsInt()
  WS_MAX_STREAMS: number = 128;

  /** Unanswered requests per connection. */
  @Transform(toInt)
  @Min(1)
  @Max(10_000)
  @IsInt()
  WS_MAX_INFLIGHT: number = 64;

  /** Counted across the cluster. */
  @Transform(toInt)
  @Min(1)
  @Max(100_000)
  @IsInt()
  MAX_CONNECTIONS_PER_USER: number = 32;

  @Transform(toInt)
  @Min(100)
  @IsInt()
  WS_PING_INTERVAL_MS: number = 25_000;

  @Transform(toInt)
  @Min(0)
  @Max(600_000)
  @IsInt()
  DRAIN_WINDOW_MS: number = 10_000;

  @Transform(toInt)
  @Min(0)
  @Max(600_000)
  @IsInt()
  PRESENCE_GRACE_MS: number = 5_000;

  @Transform(toInt)
  @Min(100)
  @Max(4_000)
  @IsInt()
  PRESENCE_HEARTBEAT_MS: number = 2_000;

  @Transform(toInt)
  @Min(10)
  @Max(5_000)
  @IsInt()
  PRESENCE_SYNC_WINDOW_MS: number = 250;

  @IsString()
  @Matches(/^[A-Za-z0-9_-]{1,32}$/, { message: 'HISTORY_STREAM must be 1-32 of A-Za-z0-9_-' })
  HISTORY_STREAM: string = 'RT';

  @Transform(toInt)
  @Min(1)
  @Max(1_000_000)
  @IsInt()
  HISTORY_MAX_MESSAGES: number = 1000;

  @Transform(toInt)
  @Min(1000)
  @IsInt()
  HISTORY_MAX_AGE_MS: number = 24 * 60 * 60 * 1000;

  /** Rooms every signed-in user may join: comma-separated names or `prefix*`; `none` for no room. */
  @IsString()
  @Matches(ROOMS_OPEN, {
    message: 'ROOMS_OPEN must be none, or comma-separated room names or prefixes ending in *',
  })
  ROOMS_OPEN: string = '*';

  @Transform(toInt)
  @Min(1)
  @Max(100_000)
  @IsInt()
  PUBLISH_MAX_INFLIGHT: number = 1000;

  @Transform(toInt)
  @Min(1)
  @Max(65_535)
  @IsInt()
  LISTEN_BACKLOG: number = 8192;

  @Transform(toInt)
  @IsIn([1, 3, 5], { message: 'HISTORY_REPLICAS must be 1, 3 or 5' })
  @IsInt()
  HISTORY_REPLICAS: number = 1;

  /** Where webhooks go: http(s) URLs, comma-separated. Unset: no webhooks. */
  @IsOptional()
  @Matches(WEBHOOK_URL_LIST, {
    message: 'WEBHOOK_URL must be a comma-separated list of http:// or https:// URLs',
  })
  WEBHOOK_URL?: string;

  @ValidateIf((env: EnvSchema) => env.WEBHOOK_URL !== undefined)
  @MinLength(16, {
    message: 'WEBHOOK_SECRET (at least 16 characters) is required with WEBHOOK_URL',
  })
  @IsString({ message: 'WEBHOOK_SECRET (at least 16 characters) is required with WEBHOOK_URL' })
  WEBHOOK_SECRET?: string;

  @Transform(toInt)
  @Min(0)
  @Max(10_000)
  @IsInt()
  WEBHOOK_BATCH_MS: number = 250;
}
