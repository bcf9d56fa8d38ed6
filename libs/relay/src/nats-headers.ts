/**
 * Our plain header records to and from NATS, without nats.js's `MsgHdrsImpl` on the hot path
 * (bench/nats-headers-micro.ts): it canonicalises and searches every key on each `set` and
 * `append`, decodes a received block line by line through `append`, and encodes on every publish.
 * Here a record is encoded once, and a received block is parsed straight into its record.
 */
import { ErrorCode, NatsError, type Msg, type MsgHdrs } from 'nats';
import { rawHeaderBlock } from './nats-internals';

const STATUS_LINE = 'NATS/1.0';
const CRLF = '\r\n';
/** As nats.js checks a key: printable ASCII but the colon. */
const VALID_KEY = /^[\x21-\x39\x3b-\x7e]+$/;
const LINE_BREAK = /[\r\n]/;

/**
 * A record as NATS headers, encoded once: every publish of it (an append's repeats included)
 * writes the same bytes. Read-only, and nats.js only calls `encode` on it when publishing.
 */
export class EncodedHeaders implements MsgHdrs {
  readonly hasError = false;
  readonly status = '';
  readonly code = 0;
  readonly description = '';
  private readonly bytes: Uint8Array;

  /** Throws nats.js's `BAD_HEADER` for a key or value it would refuse. */
  constructor(private readonly record: Readonly<Record<string, string>>) {
    let block = STATUS_LINE;
    for (const key in record) block += `${CRLF}${key}: ${checked(key, record[key]!)}`;
    this.bytes = Buffer.from(`${block}${CRLF}${CRLF}`);
  }

  /** What nats.js writes after `HPUB`: not in `MsgHdrs`, but what its protocol layer calls. */
  encode(): Uint8Array {
    return this.bytes;
  }

  get(k: string): string {
    // The value as sent: nats.js trims it.
    return this.has(k) ? this.record[k]!.trim() : '';
  }

  last(k: string): string {
    return this.get(k);
  }

  has(k: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.record, k);
  }

  keys(): string[] {
    return Object.keys(this.record);
  }

  values(k: string): string[] {
    return this.has(k) ? [this.get(k)] : [];
  }

  *[Symbol.iterator](): IterableIterator<[string, string[]]> {
    for (const key of this.keys()) yield [key, this.values(key)];
  }

  set(): void {
    throw new Error('EncodedHeaders are read-only');
  }

  append(): void {
    throw new Error('EncodedHeaders are read-only');
  }

  delete(): void {
    throw new Error('EncodedHeaders are read-only');
  }
}

/** Our plain header records as NATS headers (for the relay and JetStream appends alike). */
export function toNatsHeaders(record: Readonly<Record<string, string>>): MsgHdrs {
  return new EncodedHeaders(record);
}

/** The headers of a received message as a record (first value of each key), or none. */
export function headersOf(msg: Msg): Record<string, string> | undefined {
  const block = rawHeaderBlock(msg);
  if (block === null) return msg.headers === undefined ? undefined : fromNatsHeaders(msg.headers);
  return block === undefined ? undefined : parseHeaderBlock(block);
}

/** First value of each header: our messages never repeat a header. */
export function fromNatsHeaders(hdrs: MsgHdrs): Record<string, string> {
  const record: Record<string, string> = {};
  // The keys of a MsgHdrs are distinct.
  for (const [key, values] of hdrs) record[key] = values[0] ?? '';
  return record;
}

/**
 * A received `NATS/1.0…` block as `MsgHdrsImpl.decode` + `fromNatsHeaders` would give it: each
 * `key: value` line after the status line, the value trimmed, the first of a repeated key kept.
 */
export function parseHeaderBlock(block: Uint8Array): Record<string, string> {
  const text = Buffer.from(block.buffer, block.byteOffset, block.byteLength).toString();
  const record: Record<string, string> = {};
  let start = text.indexOf(CRLF) + 2;
  while (start > 1 && start < text.length) {
    let end = text.indexOf(CRLF, start);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon > -1 && colon < end) {
      const key = text.slice(start, colon);
      if (!Object.prototype.hasOwnProperty.call(record, key)) {
        record[key] = text.slice(colon + 1, end).trim();
      }
    }
    start = end + 2;
  }
  return record;
}

function checked(key: string, value: string): string {
  if (!VALID_KEY.test(key)) {
    throw new NatsError(`'${key}' is not a valid header key`, ErrorCode.BadHeader);
  }
  if (LINE_BREAK.test(value)) {
    throw new NatsError('invalid header value - \\r and \\n are not allowed.', ErrorCode.BadHeader);
  }
  return value.trim();
}
