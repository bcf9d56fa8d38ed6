import { ERROR_CODES, type ErrorCode, type FieldError } from '@app/protocol';
import type { ChannelRef } from './types';

export type { FieldError } from '@app/protocol';

/** The server's error codes (the contract's). */
export type ServerErrorCode = ErrorCode;

/**
 * The server's codes, plus the client's own:
 * - `queue_full`: too many requests waiting to be sent; nothing was sent.
 * - `timeout`: no reply in time; the server may or may not have applied it.
 * - `closed`: the client was closed before the request was sent or answered.
 * - `connection_lost`: the connection closed after a request that is not safe to repeat
 *   (`send`, `direct`, `request`) was sent: it may or may not have been applied.
 * - `message_too_big`: the frame is over `maxFrameBytes` (nothing sent), or the server closed
 *   with 1009.
 * - `policy_violation`: the server closed with 1008 (rate limit abuse).
 * - `token_unavailable`: `getToken` failed or returned no token.
 * - `disconnected`: the server ended the session on purpose (close 4003, a service asked, e.g. a
 *   ban or a logout elsewhere); the message carries its reason. The client does not reconnect.
 * - `protocol`: the server sent something the client cannot read.
 */
export type ClientErrorCode =
  | ServerErrorCode
  | 'queue_full'
  | 'timeout'
  | 'closed'
  | 'connection_lost'
  | 'message_too_big'
  | 'policy_violation'
  | 'token_unavailable'
  | 'disconnected'
  | 'protocol';

export interface ClientErrorDetails {
  /** The request's event, when the error answers a request. */
  event?: string;
  /** The fields at fault (`bad_request`). */
  fields?: FieldError[];
  /** The room, stream or inbox the error is about (a failed resume). */
  channel?: ChannelRef;
  /** The close code, when the error reports a close. */
  closeCode?: number;
  cause?: unknown;
}

/** Every rejection and `error` event of the client. */
export class ClientError extends Error {
  readonly event?: string;
  readonly fields?: FieldError[];
  readonly channel?: ChannelRef;
  readonly closeCode?: number;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    details: ClientErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ClientError';
    this.event = details.event;
    this.fields = details.fields;
    this.channel = details.channel;
    this.closeCode = details.closeCode;
  }
}

/** Server errors worth retrying later: the request itself was fine. */
export function isTransient(code: ClientErrorCode): boolean {
  return (
    code === 'unavailable' || code === 'overloaded' || code === 'rate_limited' || code === 'timeout'
  );
}

export function isServerErrorCode(code: unknown): code is ServerErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(code);
}
