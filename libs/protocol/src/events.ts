import type { ErrorCode, FieldError } from '@app/core';

/** A request's correlation id, echoed in its `reply` or `error`. */
export type Ref = string | number;

/** A message body: a string or a JSON object. */
export type Body = string | Record<string, unknown>;

/** `welcome`: the first frame of every connection. */
export interface Welcome {
  connectionId: string;
  replica: string;
  /** Null on an anonymous connection. */
  userId: string | null;
}

/** `chat.message`: a message of a room the connection joined. */
export interface ChatMessage {
  room: string;
  id: string;
  seq: number;
  from: string;
  body: Body;
  ts: number;
}

/** `chat.removed`: the connection was taken out of a room (its refreshed token no longer covers it). */
export interface ChatRemoved {
  room: string;
  reason: 'permission_revoked';
}

/** `chat.direct`: a direct message to the user, or from the user's other connections. */
export interface DirectMessage {
  id: string;
  seq: number;
  from: string;
  to: string;
  body: Body;
  ts: number;
}

/** `notification`: a message of a stream the connection subscribed to. */
export interface Notification {
  stream: string;
  id: string;
  seq: number;
  payload: unknown;
  ts: number;
}

/** `presence.join` / `presence.leave`: a user's first connection joined the room, or its last left. */
export interface PresenceChange {
  room: string;
  userId: string;
}

/** `reply`: a request's result, with the request's `ref` (see `RequestReplies` for each result). */
export type ReplyData = { ref?: Ref } & Record<string, unknown>;

/** `error`: a request or frame refused, answering the request `ref` when there is one. */
export interface ErrorData {
  ref?: Ref;
  code: ErrorCode;
  message: string;
  fields?: FieldError[];
  retryAfterMs?: number;
}

/** `reconnect`: the replica is draining; connect again (to another one). */
export interface Reconnect {
  reason: string;
}

/**
 * Every frame the server sends, by event name: the one map the server's writers and the SDK's
 * `on(...)` handlers are typed from. A module of the application adds its own by declaration
 * merging: `declare module '@app/protocol' { interface ServerEvents { 'documents.op': DocumentOp } }`.
 */
export interface ServerEvents {
  welcome: Welcome;
  reply: ReplyData;
  error: ErrorData;
  reconnect: Reconnect;
  'chat.message': ChatMessage;
  'chat.direct': DirectMessage;
  'chat.removed': ChatRemoved;
  notification: Notification;
  'presence.join': PresenceChange;
  'presence.leave': PresenceChange;
}

/** What the server adds to a stored message when it publishes it: the caller never passes these. */
export interface StoredFields {
  id: string;
  seq: number;
  ts: number;
}

/** The events of stored messages (published to a channel's history): those with `StoredFields`. */
export type StoredEvent = {
  [E in keyof ServerEvents]: ServerEvents[E] extends StoredFields ? E : never;
}[keyof ServerEvents];

/** What a publisher passes for a stored event: its data without what the server adds. */
export type StoredData<E extends StoredEvent> = Omit<ServerEvents[E], keyof StoredFields>;
