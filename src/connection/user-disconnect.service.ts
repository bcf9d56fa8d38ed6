import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AppError, CloseCode } from '@app/core';
import { Relay } from '@app/relay';
import { WsHub } from '@app/ws';
import { AppConfig } from '../config';
import { ClusterMembership, ScatterGather } from '../cluster';
import {
  DisconnectSubject,
  decodeAnswer,
  decodeRequest,
  encodeMessage,
  type DisconnectAnswer,
  type DisconnectRequest,
} from './disconnect.messages';

/**
 * Ends a user's sessions on every replica (a ban, a logout elsewhere): each replica closes the
 * user's connections with 4003 and says how many on `cluster.disconnect`; the asking replica sums
 * the answers of every live instance it knows (from the cluster heartbeats), waiting at most one
 * heartbeat interval for a slow one.
 */
@Injectable()
export class UserDisconnect implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(UserDisconnect.name);
  private readonly rounds = new ScatterGather<DisconnectAnswer>();
  private readonly unsubscribes: Array<() => void> = [];

  constructor(
    private readonly relay: Relay,
    private readonly hub: WsHub,
    private readonly cluster: ClusterMembership,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribes.push(
      this.relay.subscribe(DisconnectSubject.request, (m) => this.onRequest(m.data)),
      this.relay.subscribe(DisconnectSubject.reply(this.cluster.instance), (m) =>
        this.onAnswer(m.data),
      ),
    );
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribes) off();
  }

  /** Closes every connection of `userId` in the cluster; resolves with how many were closed. */
  async disconnect(userId: string, reason: string): Promise<{ closed: number }> {
    if (this.relay.state !== 'connected') {
      throw new AppError('unavailable', 'the broker is unreachable: other replicas cannot be told');
    }
    const local = this.closeLocal(userId, reason);
    const others = (await this.cluster.members()).filter((m) => !m.self).map((m) => m.instance);
    const { answers, missing } = await this.rounds.ask(
      // Sent even when no other replica is known yet: one that started a moment ago closes too.
      (n) => {
        const request: DisconnectRequest = { i: this.cluster.instance, n, u: userId, r: reason };
        return this.relay.publishEphemeral(DisconnectSubject.request, {
          data: encodeMessage(request),
        });
      },
      // An instance the cluster does not know yet counts too, once.
      { expected: others, timeoutMs: this.config.presence.heartbeatMs, countUnexpected: true },
    );
    if (missing.size > 0) {
      this.logger.warn({ userId, missing: missing.size, msg: 'disconnect: no answer' });
    }
    return { closed: answers.reduce((sum, answer) => sum + answer.c, local) };
  }

  private closeLocal(userId: string, reason: string): number {
    let closed = 0;
    for (const conn of this.hub.all()) {
      if (conn.userId !== userId || !conn.isOpen) continue;
      conn.close(CloseCode.Disconnected, reason);
      closed++;
    }
    if (closed > 0) this.logger.log({ userId, closed, msg: 'user disconnected' });
    return closed;
  }

  private onRequest(data: Uint8Array): void {
    const request = decodeRequest(data);
    if (!request || request.i === this.cluster.instance) return;
    const c = this.closeLocal(request.u, request.r);
    void this.relay
      .publishEphemeral(DisconnectSubject.reply(request.i), {
        data: encodeMessage({ i: this.cluster.instance, n: request.n, c }),
      })
      .catch((error: unknown) =>
        this.logger.warn({ err: (error as Error).message, msg: 'disconnect answer not sent' }),
      );
  }

  private onAnswer(data: Uint8Array): void {
    const answer = decodeAnswer(data);
    if (answer) this.rounds.take(answer);
  }
}
