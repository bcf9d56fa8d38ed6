import type { ChatMessage, ChatRemoved, DirectMessage } from '@app/protocol';

export type {
  Body,
  ChatHistoryReply,
  ChatMessage,
  ChatRemoved,
  DirectMessage,
} from '@app/protocol';

declare module '@app/ws' {
  interface ServerEvents {
    'chat.message': ChatMessage;
    'chat.direct': DirectMessage;
    'chat.removed': ChatRemoved;
  }
}
