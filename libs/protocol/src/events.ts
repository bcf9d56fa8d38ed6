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
