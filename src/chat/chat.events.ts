/** The wire shapes this feature sends; their events are in the protocol's `ServerEvents` map. */
export type {
  Body,
  ChatHistoryReply,
  ChatMessage,
  ChatRemoved,
  DirectMessage,
} from '@app/protocol';
