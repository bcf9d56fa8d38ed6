export const Scope = {
  NotificationsPublish: 'notifications:publish',
  PresenceRead: 'presence:read',
  /** `POST /rooms/:room/messages`: post into a room as the token's subject. */
  ChatPublish: 'chat:publish',
  /** `GET /rooms/:room/messages`: read a room's history. */
  HistoryRead: 'history:read',
  /** `POST /users/:userId/disconnect`: close every connection of a user. */
  ConnectionsManage: 'connections:manage',
  /** The console's cluster view, in production. */
  ClusterRead: 'cluster:read',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
