import type { RequestReplies } from '@app/protocol';
import { ClientError, isServerErrorCode, type FieldError } from './errors';
import type {
  ChatMessage,
  DirectMessage,
  HistoryPage,
  JoinResult,
  Notification,
  PresenceChange,
  Published,
  SubscribeResult,
  Welcome,
} from './types';

/** `{"event": …, "data": {…}}`, as the server frames everything. */
export interface Frame {
  event: string;
  data: Record<string, unknown>;
}

export type Reply = Record<string, unknown>;

/** The position part of a join, inbox or subscribe reply. */
export type InboxResult = RequestReplies['chat.inbox'];

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseFrame(raw: unknown): Frame | undefined {
  if (typeof raw !== 'string') return undefined;
  let frame: unknown;
  try {
    frame = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isRecord(frame) || typeof frame.event !== 'string') return undefined;
  return { event: frame.event, data: isRecord(frame.data) ? frame.data : {} };
}

export function encodeRequest(event: string, data: Record<string, unknown>, ref: number): string {
  return JSON.stringify({ event, data: { ...data, ref } });
}

/** UTF-8 length without allocating when the string is clearly short enough. */
export function byteLength(text: string, limit: number): number {
  if (text.length * 3 <= limit) return text.length;
  return new TextEncoder().encode(text).length;
}

export function serverError(data: Record<string, unknown>, event?: string): ClientError {
  const code = isServerErrorCode(data.code) ? data.code : 'internal';
  const message = typeof data.message === 'string' ? data.message : 'the server reported an error';
  const fields = Array.isArray(data.fields) ? (data.fields as FieldError[]) : undefined;
  return new ClientError(code, message, { event, fields });
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);

function hasMessageFields(d: Record<string, unknown>): boolean {
  return isString(d.id) && isSeq(d.seq);
}

export function asWelcome(d: Record<string, unknown>): Welcome | undefined {
  if (!isString(d.connectionId) || !(isString(d.userId) || d.userId === null)) return undefined;
  return { connectionId: d.connectionId, replica: String(d.replica), userId: d.userId };
}

export function asChatMessage(d: Record<string, unknown>): ChatMessage | undefined {
  return hasMessageFields(d) && isString(d.room) ? (d as unknown as ChatMessage) : undefined;
}

export function asDirectMessage(d: Record<string, unknown>): DirectMessage | undefined {
  return hasMessageFields(d) ? (d as unknown as DirectMessage) : undefined;
}

export function asNotification(d: Record<string, unknown>): Notification | undefined {
  return hasMessageFields(d) && isString(d.stream) ? (d as unknown as Notification) : undefined;
}

export function asPresenceChange(
  type: PresenceChange['type'],
  d: Record<string, unknown>,
): PresenceChange | undefined {
  return isString(d.room) && isString(d.userId)
    ? { type, room: d.room, userId: d.userId }
    : undefined;
}

function malformed(event: string): ClientError {
  return new ClientError('protocol', `the reply to ${event} is not what the protocol says`, {
    event,
  });
}

export function asInboxResult(d: Reply, event = 'chat.inbox'): InboxResult {
  if (!isSeq(d.seq) || !isString(d.epoch) || typeof d.recovered !== 'boolean') {
    throw malformed(event);
  }
  return { seq: d.seq, epoch: d.epoch, recovered: d.recovered };
}

export function asJoinResult(d: Reply, room: string): JoinResult {
  return { room, ...asInboxResult(d, 'chat.join') };
}

export function asSubscribeResult(d: Reply): SubscribeResult {
  const seqs = d.seqs;
  if (
    !Array.isArray(d.streams) ||
    !isString(d.epoch) ||
    typeof d.recovered !== 'boolean' ||
    !isRecord(seqs) ||
    !Object.values(seqs).every(isSeq)
  ) {
    throw malformed('notifications.subscribe');
  }
  return {
    streams: d.streams.filter(isString),
    epoch: d.epoch,
    recovered: d.recovered,
    seqs: seqs as Record<string, number>,
  };
}

export function asHistoryPage(d: Reply, room: string): HistoryPage {
  const messages = Array.isArray(d.messages) ? d.messages : undefined;
  const read = messages?.map((m) => (isRecord(m) ? asChatMessage(m) : undefined));
  if (!read || !isString(d.epoch) || typeof d.hasMore !== 'boolean')
    throw malformed('chat.history');
  if (!read.every((m): m is ChatMessage => m !== undefined)) throw malformed('chat.history');
  return { room, epoch: d.epoch, messages: read, hasMore: d.hasMore };
}

export function asPublished(d: Reply, event: 'chat.send' | 'chat.direct'): Published {
  if (!isString(d.id) || !isSeq(d.seq)) throw malformed(event);
  return { id: d.id, seq: d.seq };
}
