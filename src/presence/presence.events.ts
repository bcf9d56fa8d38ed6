import type { PresenceChange } from '@app/protocol';

export type { PresenceChange } from '@app/protocol';

declare module '@app/ws' {
  interface ServerEvents {
    'presence.join': PresenceChange;
    'presence.leave': PresenceChange;
  }
}
