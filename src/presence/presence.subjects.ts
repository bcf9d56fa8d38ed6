import { subjectToken } from '@app/relay';

export const PresenceEvent = {
  Query: 'presence.query',
  Join: 'presence.join',
  Leave: 'presence.leave',
} as const;

/** Ephemeral core subjects: presence is state, not history. */
export const PresenceSubject = {
  /** Transitions, snapshots and sync requests of one room, for the replicas with members in it. */
  room: (room: string): string => `presence.room.${subjectToken(room)}`,
  /** Every replica's heartbeat and goodbye. */
  heartbeat: 'presence.heartbeat',
  /** Look-ups of users or rooms asked of every replica. */
  query: 'presence.query',
  /** Answers to one replica's look-ups. */
  reply: (instance: string): string => `presence.reply.${instance}`,
} as const;
