import { Injectable } from '@nestjs/common';
import { HistoryStore, type StoredMessage } from '@app/history';
import type { ChatHistoryReply, ChatMessage } from '@app/protocol';
import { roomChannel } from './chat.subjects';

/** Pages of a room's history as `chat.message`s, for `chat.history` and the server API. */
@Injectable()
export class RoomHistory {
  constructor(private readonly history: HistoryStore) {}

  async page(room: string, before: number | undefined, limit: number): Promise<ChatHistoryReply> {
    const page = await this.history.page(roomChannel(room), { before, limit });
    return {
      room,
      epoch: page.epoch,
      messages: page.messages.map((stored) => toChatMessage(room, stored)),
      hasMore: page.hasMore,
    };
  }
}

/** A stored `{"event":"chat.message","data":{…}}` with its seq, as live members received it. */
function toChatMessage(room: string, stored: StoredMessage): ChatMessage {
  const { data } = JSON.parse(Buffer.from(stored.data).toString()) as { data: ChatMessage };
  return { room, id: data.id, seq: stored.seq, from: data.from, body: data.body, ts: data.ts };
}
