import type { HistoryStore, Replay, StoredMessage } from '@app/history';

export interface ReplayEnd {
  /** The last page read. */
  readonly last: Replay;
  /** False when any page said history no longer reached back to where it started. */
  readonly recovered: boolean;
  /** False when `each` stopped the walk. */
  readonly complete: boolean;
}

/**
 * Walks a replay page by page from its `first` page, calling `each` for every message in order,
 * and stops early when `each` resolves false (the socket closed). The next page is read while the
 * current one is written, so a client that reads waits for the broker at most once, and no more
 * than two pages per replay are held in memory, whatever the backlog.
 */
export async function walkReplay(
  history: HistoryStore,
  channel: string,
  first: Replay,
  each: (message: StoredMessage) => boolean | Promise<boolean>,
): Promise<ReplayEnd> {
  let page = first;
  let recovered = first.recovered;
  for (;;) {
    // Pages after the first name the first's epoch: a history reset mid-replay is not recovered.
    const more = page.more && page.messages.length > 0;
    const next = more ? history.replay(channel, page.seq, first.epoch) : undefined;
    next?.catch(() => undefined); // awaited below, unless the walk stops first
    for (const message of page.messages) {
      if (!(await each(message))) return { last: page, recovered, complete: false };
    }
    if (!next) return { last: page, recovered, complete: true };
    page = await next;
    recovered &&= page.recovered;
  }
}
