import { Injectable } from '@nestjs/common';
import { AppError } from '@app/core';
import { HistoryStore, type StoredMessage } from '@app/history';
import type { ChatHistoryReply, ChatMessage } from '@app/protocol';
import { Relay } from '@app/relay';
import { roomChannel } from './chat.subjects';

/** Pages of a room's history as `chat.message`s, for `chat.history` and the server API. */
@Injectable()
export class RoomHistory {
  constructor(
    private readonly history: HistoryStore,
    private readonly relay: Relay,
  ) {}

  async page(room: string, before: number | undefined, limit: number): Promise<ChatHistoryReply> {
    // Without the broker a read would wait for its timeout: the caller learns at once instead.
    if (this.relay.state !== 'connected') {
      throw new AppError('unavailable', 'message broker unreachable, retry later');
    }
    const page = await this.history.olderPage(roomChannel(room), { before, limit });
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
