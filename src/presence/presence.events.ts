export interface PresenceChange {
  room: string;
  userId: string;
}

declare module '@app/ws' {
  interface ServerEvents {
    'presence.join': PresenceChange;
    'presence.leave': PresenceChange;
  }
}
