/** The wire shapes this feature sends; their events are in the protocol's `ServerEvents` map. */
export type { PresenceChange } from '@app/protocol';
