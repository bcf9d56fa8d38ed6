import type { MsgHdrs } from 'nats';
import type { StoredMessage } from './history-store';

/** Broker metadata (`Nats-*`) is dropped so stored messages read the same as in memory. */
export function toStoredMessage(seq: number, data: Uint8Array, hdrs?: MsgHdrs): StoredMessage {
  let headers: Record<string, string> | undefined;
  for (const [k, values] of hdrs ?? []) {
    if (k.toLowerCase().startsWith('nats-')) continue;
    headers ??= {};
    headers[k] = values[0] ?? '';
  }
  return { seq, data, ...(headers && { headers }) };
}
