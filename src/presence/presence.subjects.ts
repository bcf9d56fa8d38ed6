import { subjectToken } from '@app/relay';

export const PresenceEvent = {
  Query: 'presence.query',
  Join: 'presence.join',
  Leave: 'presence.leave',
} as const;

/**
 * Ephemeral core subjects: presence is state, not history. Heartbeats and look-ups are the
 * cluster module's (`ClusterSubject`).
 */
export const PresenceSubject = {
  /** Transitions, snapshots and sync requests of one room, for the replicas with members in it. */
  room: (room: string): string => `presence.room.${subjectToken(room)}`,
} as const;
