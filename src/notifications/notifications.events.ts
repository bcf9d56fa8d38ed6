import type { Notification } from '@app/protocol';

export type { Notification } from '@app/protocol';

declare module '@app/ws' {
  interface ServerEvents {
    notification: Notification;
  }
}
