/** What replicas tell each other about one room's presence (JSON on `presence.room.<room>`). */
export type RoomMessage =
  /** A user's first connection in the room on instance `i` arrived (`p: true`) or its last left. */
  | { t: 'state'; i: string; u: string; p: boolean }
  /** Every user instance `i` has in the room: replaces what was known of `i` there. */
  | { t: 'snap'; i: string; u: string[] }
  /** Instance `i` just became interested in the room: everyone with members there sends a snap. */
  | { t: 'sync'; i: string };
