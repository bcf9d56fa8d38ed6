/**
 * Every use of nats.js's non-public parts, in one place. Checked against nats 2.29.3 (package.json
 * pins it): after an upgrade, run `nats-internals.spec.ts`, which fails when a fast path below is
 * no longer taken.
 *
 * They pay on the live path (bench/nats-headers-micro.ts): `msg.headers` decodes the whole block
 * through `MsgHdrsImpl.append` (seven headers on a republished message, each key canonicalised
 * and searched), ~3× the time of parsing the received bytes straight into our record.
 */
import type { Msg } from 'nats';

/** The parts of nats.js's `MsgImpl` read here: the parsed `MSG`/`HMSG` and its bytes. */
interface MsgImplShape {
  readonly _msg?: { readonly hdr?: unknown };
  readonly _rdata?: unknown;
}

/**
 * The received header block (`NATS/1.0…`, the bytes `msg.headers` decodes), `undefined` when the
 * message has none, `null` when `msg` is not shaped as this nats.js version makes it.
 */
export function rawHeaderBlock(msg: Msg): Uint8Array | undefined | null {
  const { _msg, _rdata } = msg as unknown as MsgImplShape;
  const hdr = _msg?.hdr;
  if (typeof hdr !== 'number' || !(_rdata instanceof Uint8Array)) return null;
  return hdr > -1 ? _rdata.subarray(0, hdr) : undefined;
}
