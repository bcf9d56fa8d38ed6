/** NATS request/reply patterns of the server API (the same as its REST routes). */
export const RoomsPattern = {
  /** `{room, body, key?}` → `{id, seq}` (`POST /rooms/:room/messages`). */
  Publish: 'rooms.publish',
  /** `{room, before?, limit?}` → `{room, epoch, messages, hasMore}` (`GET /rooms/:room/messages`). */
  History: 'rooms.history',
  /** `{userId, reason?}` → `{closed}` (`POST /users/:userId/disconnect`). */
  Disconnect: 'users.disconnect',
} as const;

/** The queue group of the server API: exactly one replica answers each request. */
export const API_QUEUE = 'api';

/** Messages a server API history page holds at most, and by default. */
export const API_HISTORY_MAX_LIMIT = 300;
/** The close reason when a disconnect names none. */
export const DEFAULT_DISCONNECT_REASON = 'disconnected';
