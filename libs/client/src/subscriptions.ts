import type { Backoff } from './backoff';
import {
  ChannelState,
  StreamGroup,
  groupByEpoch,
  isResume,
  type ResumeFrom,
  type SubscribeRequest,
} from './channel-state';
import { ClientError, isTransient } from './errors';
import { Inbox, type InboxMode } from './inbox';
import type { DataFn, Outbox } from './outbox';
import type {
  ChannelRef,
  ChatMessage,
  ClientEvents,
  DirectMessage,
  JoinResult,
  LeaveResult,
  Notification,
  Position,
  Positions,
  SubscribeResult,
  UnsubscribeResult,
} from './types';
import { asInboxResult, asJoinResult, asSubscribeResult, type Reply } from './wire';

/** What the subscriptions need of the client that owns them. */
export interface SubscriptionsHost {
  readonly outbox: Outbox;
  /** Paces retries of a resume the server could not serve yet. */
  readonly resumeBackoff: Backoff;
  /** The current connection's number: a new one for every connection. */
  readonly connection: number;
  /** True once the current connection was welcomed (the server has a session to tell). */
  readonly connected: boolean;
  emit<K extends keyof ClientEvents>(event: K, payload: ClientEvents[K]): void;
  /** A timer that dies with the current connection. */
  later(ms: number, run: () => void): void;
}

export interface SubscriptionsSettings {
  dedupeWindow: number;
  inbox: InboxMode;
}

/**
 * The rooms, streams and inbox the application follows: their positions, their dedupe windows,
 * and the requests that join them and resume them on every new connection.
 */
export class Subscriptions {
  private readonly rooms = new Map<string, ChannelState>();
  private readonly streams = new Map<string, ChannelState>();
  private readonly joining = new Map<string, Promise<JoinResult>>();
  private inbox?: Inbox;
  private userId?: string | null;
  /** The history's epoch as a reply on the current connection gave it. */
  private epoch?: string;

  constructor(
    private readonly host: SubscriptionsHost,
    private readonly settings: SubscriptionsSettings,
  ) {}

  positions(): Positions {
    const joined = (channels: Map<string, ChannelState>): Record<string, Position> => {
      const result: Record<string, Position> = {};
      for (const [name, state] of channels) {
        const position = state.joined ? state.position() : undefined;
        if (position) result[name] = position;
      }
      return result;
    };
    const inbox = this.inbox?.position();
    return { rooms: joined(this.rooms), streams: joined(this.streams), ...(inbox && { inbox }) };
  }

  join(room: string, from?: Position): Promise<JoinResult> {
    const pending = this.joining.get(room);
    if (pending) return pending;
    const existing = this.rooms.get(room);
    if (existing?.joined && existing.seq !== undefined && existing.epoch !== undefined && !from) {
      return Promise.resolve({ room, seq: existing.seq, epoch: existing.epoch, recovered: true });
    }
    const state = existing ?? new ChannelState(this.settings.dedupeWindow, from);
    this.rooms.set(room, state);
    let sent: ResumeFrom = {};
    const data = (): Record<string, unknown> => {
      sent = state.resumeFrom();
      return { room, ...sent };
    };
    const joining = this.host.outbox
      .enqueue('chat.join', data, true)
      .then(
        (reply) => this.joined(room, state, reply, sent),
        (error: unknown) => {
          if (this.rooms.get(room) === state && !state.joined) this.rooms.delete(room);
          throw error;
        },
      )
      .finally(() => this.joining.delete(room));
    this.joining.set(room, joining);
    return joining;
  }

  /** The server took the connection out of `room` (`chat.removed`): forget it without asking. */
  removed(room: string): void {
    this.rooms.delete(room);
  }

  leave(room: string): Promise<LeaveResult> {
    const had = this.rooms.delete(room);
    // A new connection starts outside every room: nothing to tell the server.
    if (!this.host.connected) return Promise.resolve({ room, left: had });
    return this.host.outbox
      .enqueue('chat.leave', () => ({ room }), true)
      .then((reply) => ({ room, left: reply.left === true }));
  }

  subscribe(
    streams: string[],
    from: { since?: Record<string, number>; epoch?: string },
  ): Promise<SubscribeResult> {
    const unique = [...new Set(streams)];
    if (unique.length === 0) {
      return Promise.reject(
        new ClientError('bad_request', 'subscribe() needs at least one stream', {
          event: 'notifications.subscribe',
        }),
      );
    }
    const entries = unique.map((stream): [string, ChannelState] => {
      let state = this.streams.get(stream);
      if (!state) {
        const since = from.since?.[stream];
        const position = since === undefined ? undefined : { seq: since, epoch: from.epoch };
        state = new ChannelState(this.settings.dedupeWindow, position);
        this.streams.set(stream, state);
      }
      return [stream, state];
    });
    const requests = groupByEpoch(entries).map((group) =>
      this.subscribeGroup(group, (data) =>
        this.host.outbox.enqueue('notifications.subscribe', data, true),
      ),
    );
    return Promise.all(requests).then(mergeSubscribed, (error: unknown) => {
      for (const [stream, state] of entries) {
        if (this.streams.get(stream) === state && !state.joined) this.streams.delete(stream);
      }
      throw error;
    });
  }

  unsubscribe(streams: string[]): Promise<UnsubscribeResult> {
    const had = streams.filter((stream) => this.streams.delete(stream));
    if (!this.host.connected) return Promise.resolve({ streams: had });
    return this.host.outbox
      .enqueue('notifications.unsubscribe', () => ({ streams }), true)
      .then((reply) => ({
        streams: Array.isArray(reply.streams)
          ? reply.streams.filter((s): s is string => typeof s === 'string')
          : [],
      }));
  }

  /** A direct message this client sent: stored in its own inbox too, never handed back. */
  sentDirect(id: string): void {
    this.inbox?.seen(id);
  }

  // ── frames ──

  message(message: ChatMessage): void {
    if (this.rooms.get(message.room)?.accept(message.id, message.seq)) {
      this.host.emit('message', message);
    }
  }

  direct(message: DirectMessage): void {
    const deliver = this.inbox?.receive(message, this.host.connection, this.epoch) ?? [];
    for (const direct of deliver) this.host.emit('direct', direct);
  }

  notification(notification: Notification): void {
    if (this.streams.get(notification.stream)?.accept(notification.id, notification.seq)) {
      this.host.emit('notification', notification);
    }
  }

  // ── connections ──

  /**
   * A connection was welcomed: re-joins every confirmed room and stream, and resumes the inbox.
   * Each task settles (never rejects) once its reply came or it was given up.
   */
  welcomed(userId: string | null): Promise<void>[] {
    // Another user's token: the old inbox position means nothing for this one.
    if (this.userId !== undefined && userId !== this.userId) this.inbox = undefined;
    this.userId = userId;
    if (userId !== null) this.inbox ??= new Inbox(this.settings.dedupeWindow, this.settings.inbox);

    const tasks: Promise<void>[] = [];
    for (const [room, state] of this.rooms) {
      if (state.joined) tasks.push(this.rejoin(room, state));
    }
    const joined = [...this.streams].filter(([, state]) => state.joined);
    for (const group of groupByEpoch(joined)) tasks.push(this.resubscribe(group));
    const inbox = this.resumeInbox();
    if (inbox) tasks.push(inbox);
    return tasks;
  }

  disconnected(): void {
    this.epoch = undefined;
    this.inbox?.drop();
  }

  // ── resume ──

  private rejoin(room: string, state: ChannelState): Promise<void> {
    let sent: ResumeFrom = {};
    return this.host.outbox
      .sendNow('chat.join', () => {
        sent = state.resumeFrom();
        return { room, ...sent };
      })
      .then((reply) => void this.joined(room, state, reply, sent))
      .catch((error: unknown) =>
        this.resumeFailed([{ kind: 'room', room }], error, {
          again: () => this.rooms.get(room) === state && this.rejoin(room, state),
          drop: () => this.rooms.get(room) === state && this.rooms.delete(room),
        }),
      );
  }

  private resubscribe(group: StreamGroup): Promise<void> {
    const current = (): StreamGroup =>
      new StreamGroup(
        group.entries.filter(([stream, state]) => this.streams.get(stream) === state),
        group.epoch,
      );
    return this.subscribeGroup(group, (data) =>
      this.host.outbox.sendNow('notifications.subscribe', data),
    ).then(
      () => undefined,
      (error: unknown) =>
        this.resumeFailed(
          group.entries.map(([stream]) => ({ kind: 'stream', stream })),
          error,
          {
            again: () => {
              const still = current();
              return still.entries.length > 0 && this.resubscribe(still);
            },
            drop: () => {
              for (const [stream] of current().entries) this.streams.delete(stream);
            },
          },
        ),
    );
  }

  /**
   * The inbox is followed live from every connection's welcome; this resumes what the previous
   * connection missed, or, with no position yet, learns where the inbox stands to resume from it
   * after a later reconnect.
   */
  private resumeInbox(): Promise<void> | undefined {
    const inbox = this.inbox;
    if (!inbox) return undefined;
    const { from } = inbox.plan();
    if (from.since !== undefined) return this.requestInbox(inbox, from);
    // Nothing to resume: only learn the position, without holding messages or the connection.
    this.host.outbox
      .sendNow('chat.inbox', () => ({}))
      .then((reply) => {
        if (this.inbox !== inbox) return;
        const result = asInboxResult(reply);
        this.learnEpoch(result.epoch);
        inbox.locate(result);
      })
      .catch(() => undefined); // the next connection asks again
    return undefined;
  }

  private requestInbox(inbox: Inbox, from: ResumeFrom): Promise<void> {
    inbox.hold();
    return this.host.outbox
      .sendNow('chat.inbox', () => ({ ...from }))
      .then((reply) => {
        if (this.inbox !== inbox) return;
        const result = asInboxResult(reply);
        this.learnEpoch(result.epoch);
        for (const direct of inbox.release(result)) this.host.emit('direct', direct);
        if (!result.recovered && isResume(from)) {
          this.notRecovered({ kind: 'inbox' }, from, result.epoch);
        }
      })
      .catch((error: unknown) =>
        this.resumeFailed([{ kind: 'inbox' }], error, {
          // Still held, so the position has not moved: the same request again.
          again: () => this.inbox === inbox && this.requestInbox(inbox, from),
          drop: () => {
            for (const direct of inbox.release()) this.host.emit('direct', direct);
          },
        }),
      );
  }

  private joined(room: string, state: ChannelState, reply: Reply, sent: ResumeFrom): JoinResult {
    const result = asJoinResult(reply, room);
    if (this.rooms.get(room) !== state) {
      // Left while the join was on its way: undo it on the server too.
      this.host.outbox.enqueue('chat.leave', () => ({ room }), true).catch(() => undefined);
      return result;
    }
    state.confirm(result.seq, result.epoch);
    this.learnEpoch(result.epoch);
    if (!result.recovered && isResume(sent)) {
      this.notRecovered({ kind: 'room', room }, sent, result.epoch);
    }
    return result;
  }

  private subscribeGroup(
    group: StreamGroup,
    send: (data: DataFn) => Promise<Reply>,
  ): Promise<SubscribeResult> {
    let sent: SubscribeRequest = { streams: [] };
    return send(() => (sent = group.request())).then((reply) => {
      const result = asSubscribeResult(reply);
      this.learnEpoch(result.epoch);
      const stale: string[] = [];
      for (const [stream, state] of group.entries) {
        if (this.streams.get(stream) !== state) {
          stale.push(stream);
          continue;
        }
        const seq = result.seqs[stream];
        if (seq !== undefined) state.confirm(seq, result.epoch);
        const from = { since: sent.since?.[stream], epoch: sent.epoch };
        // The server answers `recovered` for the whole request: every stream resumed in it is
        // reported, as any of them may be the one that lost messages.
        if (!result.recovered && isResume(from)) {
          this.notRecovered({ kind: 'stream', stream }, from, result.epoch);
        }
      }
      if (stale.length > 0) {
        this.host.outbox
          .enqueue('notifications.unsubscribe', () => ({ streams: stale }), true)
          .catch(() => undefined);
      }
      return result;
    });
  }

  /** One epoch names the whole history: what a reply says holds for the inbox's position too. */
  private learnEpoch(epoch: string): void {
    this.epoch = epoch;
    this.inbox?.adoptEpoch(epoch, this.host.connection);
  }

  private resumeFailed(
    channels: ChannelRef[],
    error: unknown,
    next: { again: () => unknown; drop: () => unknown },
  ): void {
    const cause =
      error instanceof ClientError
        ? error
        : new ClientError('internal', `resume failed: ${String(error)}`, { cause: error });
    // The next connection resumes everything anyway.
    if (cause.code === 'connection_lost' || cause.code === 'closed') return;
    const what = channels.map(describe).join(', ');
    const channel = channels[0];
    if (isTransient(cause.code)) {
      this.host.emit(
        'error',
        new ClientError(cause.code, `could not resume ${what} (${cause.message}); retrying`, {
          channel,
          cause,
        }),
      );
      this.host.later(this.host.resumeBackoff.next(), () => void next.again());
      return;
    }
    next.drop();
    this.host.emit(
      'error',
      new ClientError(cause.code, `could not resume ${what}: ${cause.message}; dropped it`, {
        channel,
        cause,
        fields: cause.fields,
      }),
    );
  }

  private notRecovered(channel: ChannelRef, sent: ResumeFrom, epoch: string): void {
    const reason =
      sent.epoch !== undefined && sent.epoch !== epoch ? 'epoch_changed' : 'history_gap';
    this.host.emit('recovered', { ...channel, recovered: false, reason });
  }
}

function mergeSubscribed(results: SubscribeResult[]): SubscribeResult {
  return {
    streams: results.flatMap((r) => r.streams),
    epoch: results[results.length - 1]?.epoch ?? '',
    recovered: results.every((r) => r.recovered),
    seqs: Object.assign({}, ...results.map((r) => r.seqs)) as Record<string, number>,
  };
}

function describe(channel: ChannelRef): string {
  switch (channel.kind) {
    case 'room':
      return `room ${channel.room}`;
    case 'stream':
      return `stream ${channel.stream}`;
    case 'inbox':
      return 'the inbox';
  }
}
