import { AppError } from '@app/core';

/**
 * Why a token was refused, as an operator needs to tell them apart (an expired token is the
 * client's to renew; a bad signature or a wrong issuer is a key or configuration mismatch).
 * Bounded: it is a metric label.
 */
export const REFUSAL_REASONS = [
  'missing',
  'malformed',
  'expired',
  'not_yet_valid',
  'bad_signature',
  'wrong_algorithm',
  'wrong_issuer',
  'wrong_audience',
  'missing_sub',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** A refused token: `unauthorized` to the client, with the reason class for logs and metrics. */
export class TokenRefused extends AppError {
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super('unauthorized', message);
  }
}

/** The reason class of a jsonwebtoken verification error (its names and messages, v9). */
export function refusalReasonOf(error: Error): RefusalReason {
  if (error.name === 'TokenExpiredError') return 'expired';
  if (error.name === 'NotBeforeError') return 'not_yet_valid';
  const { message } = error;
  if (message === 'invalid signature') return 'bad_signature';
  if (message.startsWith('jwt issuer invalid')) return 'wrong_issuer';
  if (message.startsWith('jwt audience invalid')) return 'wrong_audience';
  // `alg: none` (no signature), an algorithm other than the pinned one, HS/RS confusion.
  if (
    message === 'invalid algorithm' ||
    message === 'jwt signature is required' ||
    message.startsWith('please specify "none"') ||
    /^secretOrPublicKey must be an? a?symmetric key/.test(message)
  ) {
    return 'wrong_algorithm';
  }
  return 'malformed';
}
