import type { ChatMessage } from './events';

/** The reply to `chat.send` and `chat.direct` (and `POST /notifications`): the stored message. */
export interface Published {
  id: string;
  seq: number;
}

/** Where a connection stands in a room, stream or inbox once it joined (or resumed) it. */
export interface ChannelReply {
  /** The last seq of the channel the connection has: what to resume from. */
  seq: number;
  epoch: string;
  /** False when history no longer reaches back to `since` (or was reset). */
  recovered: boolean;
}

/** The reply to `chat.join`. */
export interface ChatJoinReply extends ChannelReply {
  room: string;
}

/** The reply to `chat.inbox`: where the connection stands in its user's direct messages. */
export type ChatInboxReply = ChannelReply;

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

/** The reply to `notifications.subscribe`. */
export interface NotificationsSubscribeReply {
  streams: string[];
  epoch: string;
  /** False when any stream's history no longer reaches back to its `since`. */
  recovered: boolean;
  /** The same, per stream: which ones lost messages. */
  recoveredStreams: Record<string, boolean>;
  /** The last seq of each stream this connection now has: what to resume from. */
  seqs: Record<string, number>;
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

/** The reply to `auth.refresh`: the token's user and its new expiry (epoch ms, null: none). */
export interface AuthRefreshReply {
  userId: string;
  expiresAt: number | null;
}

/** The reply to `ping`: the server's clock (epoch ms). */
export interface PingReply {
  ts: number;
}

/**
 * Every request event, by name, and the result its `reply` carries (beside the request's `ref`):
 * what the server's handlers return and what the SDK's requests resolve with.
 */
export interface RequestReplies {
  'auth.refresh': AuthRefreshReply;
  ping: PingReply;
  'chat.join': ChatJoinReply;
  'chat.leave': ChatLeaveReply;
  'chat.send': Published;
  'chat.direct': Published;
  'chat.inbox': ChatInboxReply;
  'chat.history': ChatHistoryReply;
  'notifications.subscribe': NotificationsSubscribeReply;
  'notifications.unsubscribe': NotificationsUnsubscribeReply;
  'presence.query': PresenceRoomReply | PresenceUsersReply;
}
