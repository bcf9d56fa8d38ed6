import { AppError } from '@app/core';
import type { WsMetrics } from './ws-metrics';

/** The per-connection and per-user limits, by the variable that sets each (also metric labels). */
export type LimitName =
  'WS_MAX_ROOMS' | 'WS_MAX_STREAMS' | 'WS_MAX_INFLIGHT' | 'MAX_CONNECTIONS_PER_USER';

export const LIMIT_NAMES: readonly LimitName[] = [
  'WS_MAX_ROOMS',
  'WS_MAX_STREAMS',
  'WS_MAX_INFLIGHT',
  'MAX_CONNECTIONS_PER_USER',
];

/** `limit_exceeded`, naming the limit and its value as the contract asks; counted by limit. */
export function limitExceeded(
  metrics: WsMetrics,
  limit: LimitName,
  value: number,
  what: string,
): AppError {
  metrics.limitRefusals[limit].inc();
  return new AppError('limit_exceeded', `${what}: ${limit} is ${value}`);
}
