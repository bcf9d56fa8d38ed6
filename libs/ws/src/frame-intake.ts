import type { RawData } from 'ws';
import { AppError, CloseCode } from '@app/core';
import type { BadInputLog } from './bad-input-log';
import type { Connection } from './connection';
import { errorData, isPlainObject, refOf, type Ref } from './frames';
import { exceedsJsonDepth, jsonDepthMessage } from './json-depth';
import { limitExceeded } from './limits';
import type { WsDispatcher } from './ws-dispatcher';
import { INVALID_EVENT, UNKNOWN_EVENT, type WsMetrics } from './ws-metrics';
import type { WsOptions } from './ws-options';

/**
 * One inbound frame, from bytes to the dispatcher: the rate limit, the JSON depth scan, `JSON.parse`,
 * the `{"event","data"}` envelope, a known event, the drain and the requests in flight. A frame
 * refused on the way gets its `error` frame (with the request's `ref` when it has a usable one) or,
 * for abuse of the rate, a 1008 close.
 */
export class FrameIntake {
  constructor(
    private readonly options: Pick<WsOptions, 'maxJsonDepth' | 'maxInFlight'>,
    private readonly dispatcher: WsDispatcher,
    private readonly metrics: WsMetrics,
    private readonly badInput: BadInputLog,
    /** Whether the connection's drain turn came: its new requests are refused. */
    private readonly leaving: (conn: Connection) => boolean,
  ) {}

  handle(conn: Connection, raw: RawData, isBinary: boolean): void {
    conn.missedPings = 0;
    const verdict = conn.limiter.take();
    if (verdict === 'abuse') {
      // Frames already in flight meet the closing socket: count the close once.
      if (conn.isOpen) this.metrics.rateLimitedClosed.inc();
      conn.close(CloseCode.PolicyViolation, 'rate limit exceeded');
      return;
    }
    if (verdict === 'limited') {
      this.metrics.rateLimitedRejected.inc();
      // Parsed only for its ref, so the client knows which request was refused (not applied).
      const ref = this.tooDeep(raw) ? undefined : refOf(parseQuietly(raw));
      return this.reject(conn, ref, new AppError('rate_limited', 'too many frames, slow down'));
    }
    if (isBinary) return this.refuseInput(conn, undefined, 'binary frames are not supported');
    // Before any parse: deep nesting costs later stages (validation recursion) far more than its size.
    if (this.tooDeep(raw)) {
      this.metrics.tooDeepRefusals.inc();
      return this.refuseInput(conn, undefined, jsonDepthMessage(this.options.maxJsonDepth));
    }
    let frame: unknown;
    try {
      // binaryType is 'nodebuffer' (the default): every frame arrives as one Buffer.
      frame = JSON.parse((raw as Buffer).toString());
    } catch {
      return this.refuseInput(conn, undefined, 'frame is not valid JSON');
    }
    if (!isPlainObject(frame) || typeof frame.event !== 'string') {
      return this.refuseInput(conn, undefined, 'a frame is {"event": string, "data": object}');
    }
    const data = frame.data ?? {};
    const ref = refOf(data);
    if (!isPlainObject(data)) return this.refuseInput(conn, ref, '"data" must be an object');
    const event = frame.event;
    if (!this.dispatcher.handles(event)) {
      return this.refuseInput(conn, ref, `unknown event "${event}"`, UNKNOWN_EVENT);
    }
    // A registered handler's name: bounded by the code, whatever clients send.
    this.metrics.frameIn(event).inc();
    if (this.leaving(conn)) {
      // Its drain turn came: what it sends now is not handled, and it is told to send it again.
      return this.reject(
        conn,
        ref,
        new AppError(
          'unavailable',
          'this replica is shutting down: send it again after reconnecting',
        ),
      );
    }
    const maxInFlight = this.options.maxInFlight;
    if (conn.inFlightCount >= maxInFlight) {
      const what = 'too many requests unanswered on this connection';
      return this.reject(
        conn,
        ref,
        limitExceeded(this.metrics, 'WS_MAX_INFLIGHT', maxInFlight, what),
      );
    }
    this.dispatcher.dispatch(conn, event, data);
  }

  private tooDeep(raw: RawData): boolean {
    return exceedsJsonDepth(raw as Buffer, this.options.maxJsonDepth);
  }

  /** A frame that is not a usable request: `bad_request`, counted, logged once a minute at most. */
  private refuseInput(
    conn: Connection,
    ref: Ref | undefined,
    reason: string,
    label = INVALID_EVENT,
  ): void {
    this.metrics.frameIn(label).inc();
    const logged = reason.slice(0, 200); // an event name is client input
    this.badInput.note(conn.id, { connectionId: conn.id, userId: conn.userId, reason: logged });
    this.reject(conn, ref, new AppError('bad_request', reason));
  }

  private reject(conn: Connection, ref: Ref | undefined, error: AppError): void {
    conn.send('error', errorData(error, ref));
  }
}

function parseQuietly(raw: RawData): unknown {
  try {
    return (JSON.parse((raw as Buffer).toString()) as { data?: unknown }).data;
  } catch {
    return undefined;
  }
}
