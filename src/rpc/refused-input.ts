/**
 * What a handler receives for a NATS message refused before parsing (not JSON, nested too deep):
 * `RejectMalformedPipe` turns it into `bad_request` with this reason.
 */
export class RefusedInput {
  constructor(readonly reason: string) {
    Object.freeze(this);
  }
}
