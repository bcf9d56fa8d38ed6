import type { ChatMessage } from './events';

/** The reply to `chat.send` and `chat.direct` (and `POST /notifications`): the stored message. */
export interface Published {
  id: string;
  seq: number;
}

/** The reply to `chat.join`. */
export interface ChatJoinReply {
  room: string;
  /** The last seq of the room the connection has. */
  seq: number;
  epoch: string;
  /** False when history no longer reaches back to `since` (or was reset). */
  recovered: boolean;
}

/**
 * The reply to `chat.history` (and `GET /rooms/:room/messages`): the newest messages before
 * `before`, oldest first; `hasMore` when older ones remain (ask again with the first one's seq).
 */
export interface ChatHistoryReply {
  room: string;
  epoch: string;
  messages: ChatMessage[];
  hasMore: boolean;
}

/** The reply to `POST /users/:userId/disconnect`: how many connections were closed, cluster-wide. */
export interface DisconnectReply {
  closed: number;
}

/** The reply to `chat.leave`: `left` is false when the connection was not a member. */
export interface ChatLeaveReply {
  room: string;
  left: boolean;
}

/** The reply to `notifications.unsubscribe`. */
export interface NotificationsUnsubscribeReply {
  streams: string[];
}

/** The reply to `presence.query {room}`. */
export interface PresenceRoomReply {
  room: string;
  users: string[];
}

/** The reply to `presence.query {users}`. */
export interface PresenceUsersReply {
  online: Record<string, boolean>;
}
