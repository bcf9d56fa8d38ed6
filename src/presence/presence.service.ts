import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { ChannelsService } from '@app/channels';
import { Relay } from '@app/relay';
import { WsHub, type Connection } from '@app/ws';
import { roomChannel } from '../chat/chat.subjects';
import {
  ClusterMembership,
  ClusterPublisher,
  ClusterQuery,
  decodeClusterMessage,
  type ClusterLookup,
} from '../cluster';
import { AppConfig } from '../config';
import { ConnectionQuota } from './connection-quota';
import type { RoomMessage } from './presence.messages';
import { PresenceEvent, PresenceSubject } from './presence.subjects';
import { RoomPresence, type PresenceTransition } from './room-presence';

interface Room {
  /** Local connections per user in this room (its local members are the room channel's). */
  readonly local: Map<string, number>;
  readonly view: RoomPresence;
  /** Resolves when the snapshots asked for on first interest have had time to arrive. */
  synced: Promise<void>;
  syncing: boolean;
  readonly unsubscribe: () => void;
}

export interface UserPresence {
  userId: string;
  online: boolean;
  connections: number;
}

/**
 * Cluster-wide presence per room and per user. A replica keeps state only for rooms it has members
 * in (plus its own connections), so its memory grows with its own load, not with the cluster.
 * Changes reach the room's members on this replica through the room's channel (`@app/channels`).
 */
@Injectable()
export class PresenceService implements OnModuleInit {
  private readonly logger = new Logger(PresenceService.name);
  private readonly rooms = new Map<string, Room>();
  private readonly joined = new WeakMap<Connection, Set<string>>();
  /** Local signed-in connections per user. */
  private readonly connections = new Map<string, number>();
  private readonly occupancyListeners: Array<(room: string, occupied: boolean) => void> = [];

  constructor(
    private readonly relay: Relay,
    private readonly cluster: ClusterMembership,
    private readonly query: ClusterQuery,
    private readonly publisher: ClusterPublisher,
    private readonly channels: ChannelsService,
    private readonly hub: WsHub,
    private readonly config: AppConfig,
    private readonly quota: ConnectionQuota,
  ) {}

  onModuleInit(): void {
    this.hub.onConnect((conn) => this.track(conn));
    this.cluster.onGone((instance) => {
      for (const room of this.rooms.values()) room.view.drop(instance);
    });
    this.query.answerWith((query) => this.localCounts(query));
    // Transitions published during the outage were lost: exchange the rooms' state again. (The
    // cluster refreshes its peers' last-heard times in its own listener; see ClusterMembership.)
    this.relay.onReconnected(() => {
      for (const [room, state] of this.rooms) {
        void this.publisher.send(PresenceSubject.room(room), {
          t: 'sync',
          i: this.cluster.instance,
        });
        this.sendSnapshot(room, state);
      }
    });
    this.cluster.trackRooms(
      () => this.rooms.size,
      () => {
        for (const [room, state] of this.rooms) this.sendSnapshot(room, state);
      },
    );
  }

  /** `conn` joined `room` (chat): announced to the room when it is the user's first connection. */
  enter(conn: Connection, room: string): void {
    const userId = conn.userId;
    if (!userId) return;
    let rooms = this.joined.get(conn);
    if (rooms?.has(room)) return;
    if (!rooms) this.joined.set(conn, (rooms = new Set()));
    rooms.add(room);
    const state = this.rooms.get(room) ?? this.open(room);
    const count = (state.local.get(userId) ?? 0) + 1;
    state.local.set(userId, count);
    if (count === 1) this.transition(room, state, userId, true);
  }

  /** `conn` left `room`, or closed. */
  exit(conn: Connection, room: string): void {
    const userId = conn.userId;
    const state = this.rooms.get(room);
    if (!userId || !state || !this.joined.get(conn)?.delete(room)) return;
    const count = (state.local.get(userId) ?? 1) - 1;
    if (count > 0) state.local.set(userId, count);
    else {
      state.local.delete(userId);
      this.transition(room, state, userId, false);
    }
    if (state.local.size === 0) this.close(room, state);
  }

  /** Calls `listener` when this replica gets its first member in a room (true) or loses its last. */
  onLocalOccupancy(listener: (room: string, occupied: boolean) => void): void {
    this.occupancyListeners.push(listener);
  }

  /** Users in `room` across the cluster. */
  async roomUsers(room: string): Promise<string[]> {
    this.query.assertAvailable();
    const state = this.rooms.get(room);
    if (state) {
      await state.synced;
      return state.view.users().sort();
    }
    const counts = await this.query.gather({ room });
    return [...counts.keys()].sort();
  }

  /** Connections of each user across the cluster. */
  async users(userIds: string[]): Promise<UserPresence[]> {
    const counts = await this.query.gather({ users: userIds });
    return userIds.map((userId) => {
      const connections = counts.get(userId) ?? 0;
      return { userId, online: connections > 0, connections };
    });
  }

  private track(conn: Connection): void {
    const userId = conn.userId;
    if (!userId) return;
    const count = (this.connections.get(userId) ?? 0) + 1;
    // A connection refused here is closed before its welcome and never counted.
    if (!this.quota.admit(conn, userId, count)) return;
    this.connections.set(userId, count);
    conn.onClose(() => {
      const left = (this.connections.get(userId) ?? 1) - 1;
      if (left > 0) this.connections.set(userId, left);
      else this.connections.delete(userId);
      for (const room of [...(this.joined.get(conn) ?? [])]) this.exit(conn, room);
    });
  }

  private open(room: string): Room {
    const view = new RoomPresence(this.config.presence.graceMs, (transition, userId) =>
      this.announce(room, transition, userId),
    );
    const unsubscribe = this.relay.subscribe(PresenceSubject.room(room), (message) =>
      this.onRoomMessage(room, message.data),
    );
    const state: Room = {
      local: new Map(),
      view,
      synced: Promise.resolve(),
      syncing: true,
      unsubscribe,
    };
    state.synced = this.relay
      .flush()
      .then(() =>
        this.publisher.send(PresenceSubject.room(room), { t: 'sync', i: this.cluster.instance }),
      )
      // Snapshots from every replica with members here arrive within about a round trip.
      .then(
        () =>
          new Promise<void>((resolve) => setTimeout(resolve, this.config.presence.syncWindowMs)),
      )
      .catch(() => undefined)
      .finally(() => (state.syncing = false));
    this.rooms.set(room, state);
    for (const listener of this.occupancyListeners) listener(room, true);
    return state;
  }

  private close(room: string, state: Room): void {
    state.unsubscribe();
    state.view.close();
    this.rooms.delete(room);
    for (const listener of this.occupancyListeners) listener(room, false);
  }

  private transition(room: string, state: Room, userId: string, present: boolean): void {
    state.view.set(this.cluster.instance, userId, present);
    void this.publisher.send(PresenceSubject.room(room), {
      t: 'state',
      i: this.cluster.instance,
      u: userId,
      p: present,
    });
  }

  private onRoomMessage(room: string, data: Uint8Array): void {
    const state = this.rooms.get(room);
    const message = decodeClusterMessage<RoomMessage>(data);
    if (!state || !message || typeof message.i !== 'string' || message.i === this.cluster.instance)
      return;
    this.cluster.heard(message.i);
    switch (message.t) {
      case 'state':
        if (typeof message.u === 'string') state.view.set(message.i, message.u, message.p === true);
        break;
      case 'snap':
        // What a room already had when this replica joined it is not news to announce.
        if (Array.isArray(message.u))
          state.view.replace(message.i, message.u.filter(isString), state.syncing);
        break;
      case 'sync':
        if (state.local.size > 0) this.sendSnapshot(room, state);
        break;
    }
  }

  private sendSnapshot(room: string, state: Room): void {
    void this.publisher.send(PresenceSubject.room(room), {
      t: 'snap',
      i: this.cluster.instance,
      u: [...state.local.keys()],
    });
  }

  private announce(room: string, transition: PresenceTransition, userId: string): void {
    const event = transition === 'join' ? PresenceEvent.Join : PresenceEvent.Leave;
    this.channels.sendEphemeral(roomChannel(room), event, { room, userId });
    this.logger.debug({ room, userId, transition, msg: 'presence change' });
  }

  private localCounts(query: ClusterLookup): Map<string, number> {
    if (typeof query.room === 'string') {
      // Everyone this replica sees in the room, users in their grace period included, so that a
      // gathered answer matches a member replica's own view (only the keys are read).
      const state = this.rooms.get(query.room);
      if (!state) return new Map();
      return new Map(state.view.users().map((user) => [user, state.local.get(user) ?? 0]));
    }
    const counts = new Map<string, number>();
    for (const userId of Array.isArray(query.users) ? query.users.filter(isString) : []) {
      const count = this.connections.get(userId);
      if (count) counts.set(userId, count);
    }
    return counts;
  }
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}
