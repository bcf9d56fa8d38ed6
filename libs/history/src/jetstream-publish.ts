import { randomUUID } from 'node:crypto';
import { ErrorCode, type MsgHdrs } from 'nats';
import { AppError } from '@app/core';
import { toNatsHeaders } from '@app/relay';
import type { AppendOptions, AppendResult } from './history-store';
import type { JetStreamConnections } from './jetstream-connections';
import { isApiError, isCode, STREAM_NOT_FOUND, translate } from './jetstream-errors';
import type { HistoryStream } from './jetstream-stream';
import { MSG_ID_HEADER, storeSubject } from './subjects';

/**
 * Stores a message on the history stream, which relays it (republish to `live.>`), with a dedupe
 * id on every message and the stream recreated when it was deleted.
 */
export class JetStreamPublisher {
  /**
   * Our own dedupe ids: this prefix, then a counter. JetStream dedupes on the id stream-wide, for
   * the duplicate window, across every replica and restart, so an id must never repeat there: the
   * prefix is 122 random bits drawn when this process starts (odds of any two of a million process
   * starts drawing the same one: below 2^-80), and the counter never repeats within a process. The `.` keeps them apart from callers' ids (UUIDs and hashes) too.
   * It costs a string concatenation, where a fresh UUID per message cost a random draw and a format.
   */
  private readonly idPrefix = `${randomUUID()}.`;
  private sent = 0;

  constructor(
    private readonly connections: JetStreamConnections,
    private readonly stream: HistoryStream,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Every message carries a dedupe id (the caller's `msgID`, else our own). An ack that does not
   * come in time is asked for again by publishing the same id (`AckedPublisher`): JetStream stores
   * it at most once and answers the first store's seq. So a busy broker or event loop costs a
   * retry, not a false error about a message that was stored; only when no ack comes before the
   * request timeout is the answer "may or may not be stored".
   */
  async publishStored(
    channel: string,
    data: Uint8Array,
    headers?: Readonly<Record<string, string>>,
    options?: AppendOptions,
  ): Promise<AppendResult> {
    const subject = storeSubject(channel);
    const ownID = options?.msgID === undefined;
    const hdrs = withMsgID(headers, options?.msgID ?? this.idPrefix + (this.sent++).toString(36));
    const publish = async (): Promise<AppendResult> => {
      const { acks } = this.connections.opened ?? (await this.connections.api());
      const ack = await acks.publish(subject, data, hdrs);
      // With our own id, a duplicate is our earlier attempt, whose ack came too late.
      return { seq: ack.seq, duplicate: !ownID && ack.duplicate };
    };
    try {
      return await publish();
    } catch (err) {
      // No responders on `rt.…` means no stream listens: it was deleted. Recreate it (a new
      // epoch, so clients learn their history is gone) rather than fail every append from now on.
      if (!isCode(err, ErrorCode.NoResponders) && !isApiError(err, STREAM_NOT_FOUND)) {
        throw this.translate(err);
      }
    }
    try {
      await this.stream.ensure();
      return await publish();
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** An ack that never came within the deadline, although asked for again: the broker is lost. */
  private translate(err: unknown): Error {
    if (!isCode(err, ErrorCode.Timeout)) return translate(err, 'append');
    return new AppError(
      'unavailable',
      `history append not acknowledged within ${this.timeoutMs} ms: it may or may not be stored, send it again (with the same key)`,
    );
  }
}

/** The message's headers for every attempt: the caller's, and the dedupe id over any of theirs. */
function withMsgID(record: Readonly<Record<string, string>> | undefined, msgID: string): MsgHdrs {
  return toNatsHeaders({ ...record, [MSG_ID_HEADER]: msgID });
}
