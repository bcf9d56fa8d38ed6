import { headers as natsHeaders, type MsgHdrs } from 'nats';

/** Our plain header records as NATS headers (for the relay and JetStream appends alike). */
export function toNatsHeaders(record: Readonly<Record<string, string>>): MsgHdrs {
  const hdrs = natsHeaders();
  for (const [key, value] of Object.entries(record)) hdrs.set(key, value);
  return hdrs;
}

/** First value of each header: our messages never repeat a header. */
export function fromNatsHeaders(hdrs: MsgHdrs): Record<string, string> {
  const record: Record<string, string> = {};
  for (const key of hdrs.keys()) record[key] = hdrs.get(key);
  return record;
}
