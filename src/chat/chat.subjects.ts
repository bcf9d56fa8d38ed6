import { subjectToken } from '@app/relay';

/** Channels and events of the chat feature. */
export const ChatEvent = {
  Join: 'chat.join',
  Leave: 'chat.leave',
  Send: 'chat.send',
  Direct: 'chat.direct',
  Inbox: 'chat.inbox',
  Message: 'chat.message',
  History: 'chat.history',
  Removed: 'chat.removed',
} as const;

export const roomChannel = (room: string): string => `room.${subjectToken(room)}`;
export const isRoomChannel = (channel: string): boolean => channel.startsWith('room.');
export const inboxChannel = (userId: string): string => `inbox.${subjectToken(userId)}`;
