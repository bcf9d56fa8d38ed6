export type Body = string | Record<string, unknown>;

export interface ChatMessage {
  room: string;
  id: string;
  seq: number;
  from: string;
  body: Body;
  ts: number;
}

export interface DirectMessage {
  id: string;
  seq: number;
  from: string;
  to: string;
  body: Body;
  ts: number;
}

declare module '@app/ws' {
  interface ServerEvents {
    'chat.message': ChatMessage;
    'chat.direct': DirectMessage;
  }
}
