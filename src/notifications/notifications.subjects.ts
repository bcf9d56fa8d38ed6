import { subjectToken } from '@app/relay';

export const NotificationsEvent = {
  Subscribe: 'notifications.subscribe',
  Unsubscribe: 'notifications.unsubscribe',
  Notification: 'notification',
} as const;

/** NATS patterns other services use through `@nestjs/microservices`. */
export const NotificationsPattern = {
  /** Event (`ClientProxy.emit`): handled by exactly one replica. */
  Push: 'notifications.push',
  /** Request/reply (`ClientProxy.send`): answers `{id, seq}` or `{code, message}`. */
  Publish: 'notifications.publish',
} as const;

/** The queue group that makes one replica handle each push. */
export const NOTIFICATIONS_QUEUE = 'notifications';

/** `public.<name>` or `private.<name>` as clients name them. */
export const STREAM_NAME = /^(public|private)\.[A-Za-z0-9._:-]{1,128}$/;

export type StreamKind = 'public' | 'private';

export function kindOf(stream: string): StreamKind {
  return stream.startsWith('private.') ? 'private' : 'public';
}

/** The channel of a stream; a private stream always belongs to one user. */
export function streamChannel(stream: string, userId?: string): string {
  const name = subjectToken(stream.slice(stream.indexOf('.') + 1));
  return kindOf(stream) === 'private'
    ? `private.${subjectToken(userId ?? '')}.${name}`
    : `public.${name}`;
}

/** Whether a channel is a notification stream's (public or private). */
export function isStreamChannel(channel: string): boolean {
  return channel.startsWith('public.') || channel.startsWith('private.');
}
