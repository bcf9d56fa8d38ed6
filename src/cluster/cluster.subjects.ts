/**
 * Core subjects replicas talk to each other on. They still carry the `presence.` prefix of the
 * module they came from: replicas of both versions must understand each other during a rolling
 * deploy, so the names on the wire never change.
 */
export const ClusterSubject = {
  /** Every replica's heartbeat, goodbye and resync requests. */
  heartbeat: 'presence.heartbeat',
  /** Look-ups asked of every replica. */
  query: 'presence.query',
  /** Answers to one instance's look-ups. */
  reply: (instance: string): string => `presence.reply.${instance}`,
} as const;
