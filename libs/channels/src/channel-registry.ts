/**
 * Who is where on this replica: the channels with local members and the channels of each
 * connection. A replica subscribes to a channel's live subject when its first local member joins
 * and unsubscribes when the last one leaves, so the broker only routes a message to replicas with
 * an interested client.
 */
import { liveSubject } from '@app/history';
import type { Relay, RelayMessage } from '@app/relay';
import type { Connection } from '@app/ws';
import { UNKNOWN, type Channel, type Member } from './channel';

const NO_CHANNELS: ReadonlySet<string> = new Set();

export class ChannelRegistry {
  private readonly channels = new Map<string, Channel>();
  private readonly memberships = new WeakMap<Connection, Set<string>>();

  /** `onMessage` receives every live message of a channel with local members. */
  constructor(
    private readonly relay: Relay,
    private readonly onMessage: (ch: Channel, message: RelayMessage) => void,
  ) {}

  get size(): number {
    return this.channels.size;
  }

  values(): IterableIterator<Channel> {
    return this.channels.values();
  }

  get(channel: string): Channel | undefined {
    return this.channels.get(channel);
  }

  /** The channel, subscribed to on the broker when it has no local member yet. */
  open(channel: string): Channel {
    const existing = this.channels.get(channel);
    if (existing) return existing;
    const ch: Channel = {
      name: channel,
      members: new Map(),
      lastSeq: 0,
      known: false,
      unsubscribe: () => undefined,
    };
    ch.unsubscribe = this.relay.subscribe(liveSubject(channel), (message) =>
      this.onMessage(ch, message),
    );
    const ready = this.relay.flush();
    ch.ready = ready;
    // Dropped once settled: a settled promise per idle channel is memory for nothing, and a failed
    // flush (broker away) must not fail this channel's later joins: nats.js subscribes again on
    // reconnect, and joins are refused meanwhile.
    const settled = (): void => {
      if (ch.ready === ready) delete ch.ready;
    };
    ready.then(settled, settled);
    this.channels.set(channel, ch);
    return ch;
  }

  /** Adds `conn` to `ch` with `member` as its position. */
  add(ch: Channel, conn: Connection, member: Member): void {
    ch.members.set(conn, member);
    let joined = this.memberships.get(conn);
    if (!joined) {
      joined = new Set();
      this.memberships.set(conn, joined);
      conn.onClose(() => {
        for (const name of [...(this.memberships.get(conn) ?? [])]) this.leave(conn, name);
      });
    }
    joined.add(ch.name);
  }

  /**
   * Adds `conn` to `channel` for live messages only, without reading history: cheap enough to run
   * for every connection at connect time (a user's inbox).
   */
  async follow(conn: Connection, channel: string): Promise<void> {
    const ch = this.open(channel);
    if (!ch.members.has(conn)) this.add(ch, conn, { from: UNKNOWN, after: 0 });
    await ch.ready;
  }

  leave(conn: Connection, channel: string): boolean {
    const ch = this.channels.get(channel);
    if (!ch?.members.delete(conn)) return false;
    this.memberships.get(conn)?.delete(channel);
    if (ch.members.size === 0) {
      ch.unsubscribe();
      this.channels.delete(channel);
    }
    return true;
  }

  isMember(conn: Connection, channel: string): boolean {
    return this.channels.get(channel)?.members.has(conn) ?? false;
  }

  /** The channels `conn` is in or joining. */
  channelsOf(conn: Connection): ReadonlySet<string> {
    return this.memberships.get(conn) ?? NO_CHANNELS;
  }
}
