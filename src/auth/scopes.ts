export const Scope = {
  NotificationsPublish: 'notifications:publish',
  PresenceRead: 'presence:read',
  /** The console's cluster view, in production. */
  ClusterRead: 'cluster:read',
} as const;
export type Scope = (typeof Scope)[keyof typeof Scope];
