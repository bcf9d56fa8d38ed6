/** The transitions reported, each once per cluster. */
export const WebhookEventName = {
  RoomOccupied: 'room.occupied',
  RoomVacated: 'room.vacated',
  UserOnline: 'user.online',
  UserOffline: 'user.offline',
} as const;
export type WebhookEventName = (typeof WebhookEventName)[keyof typeof WebhookEventName];

/** One event: receivers dedupe by `id` (delivery is at least once). */
export interface WebhookEvent {
  id: string;
  name: WebhookEventName;
  /** When the transition was decided, in ms since the epoch. */
  timeMs: number;
  room?: string;
  userId?: string;
}

/** The body of one POST: a batch of events. */
export interface WebhookBody {
  id: string;
  timeMs: number;
  events: WebhookEvent[];
}

/** Where an event goes: one queued item per event and URL, so each URL retries on its own. */
export interface WebhookItem {
  url: string;
  event: WebhookEvent;
}

/** Parses a queued item; anything malformed is `undefined` (dropped, never sent). */
export function parseItem(data: Uint8Array): WebhookItem | undefined {
  try {
    const item = JSON.parse(new TextDecoder().decode(data)) as Partial<WebhookItem>;
    const event = item.event;
    const names: readonly string[] = Object.values(WebhookEventName);
    if (
      typeof item.url !== 'string' ||
      typeof event?.id !== 'string' ||
      !names.includes(event.name) ||
      typeof event.timeMs !== 'number'
    ) {
      return undefined;
    }
    return { url: item.url, event };
  } catch {
    return undefined;
  }
}
