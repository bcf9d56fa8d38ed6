/**
 * The contract's error codes, shared by WebSocket `error` frames, HTTP error bodies and the
 * client SDK. `unavailable` means the broker is unreachable: retry later.
 */
export const ERROR_CODES = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'rate_limited',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A field at fault and what is wrong with it (`bad_request`). */
export interface FieldError {
  field: string;
  message: string;
}
