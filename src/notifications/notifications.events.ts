export interface Notification {
  stream: string;
  id: string;
  seq: number;
  payload: unknown;
  ts: number;
}

declare module '@app/ws' {
  interface ServerEvents {
    notification: Notification;
  }
}
