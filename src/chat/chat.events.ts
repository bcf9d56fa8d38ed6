import type { ChatMessage, DirectMessage } from '@app/protocol';

export type { Body, ChatMessage, DirectMessage } from '@app/protocol';

declare module '@app/ws' {
  interface ServerEvents {
    'chat.message': ChatMessage;
    'chat.direct': DirectMessage;
  }
}
