import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppError } from '@app/core';
import { Relay } from '@app/relay';
import { AppConfig } from '../config';
import { ClusterMembership } from './cluster-membership';
import { ClusterPublisher } from './cluster-publisher';
import { countsOf, decode, type AnswerMessage, type QueryMessage } from './cluster.messages';
import { ClusterSubject } from './cluster.subjects';
import { ScatterGather } from './scatter-gather';

/** A look-up as its asker writes it: the instance and request number are added here. */
export type ClusterLookup = Omit<QueryMessage, 'i' | 'n'>;

/** What this instance answers to a look-up: its local counts per user. */
export type LocalAnswer = (query: ClusterLookup) => Map<string, number>;

/**
 * Scatter-gather look-ups: one question to every live instance, their counts summed. Each instance
 * answers from what `answerWith` was given (presence: its local connections per user or room).
 */
@Injectable()
export class ClusterQuery implements OnModuleInit, OnApplicationShutdown {
  private readonly rounds = new ScatterGather<AnswerMessage>();
  private answerLocally?: LocalAnswer;
  private readonly unsubscribes: Array<() => void> = [];

  constructor(
    private readonly relay: Relay,
    private readonly membership: ClusterMembership,
    private readonly publisher: ClusterPublisher,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.unsubscribes.push(
      this.relay.subscribe(ClusterSubject.query, (m) => this.onQuery(m.data)),
      this.relay.subscribe(ClusterSubject.reply(this.membership.instance), (m) =>
        this.onAnswer(m.data),
      ),
    );
  }

  onApplicationShutdown(): void {
    for (const off of this.unsubscribes) off();
  }

  /** What this instance answers to a look-up. */
  answerWith(answer: LocalAnswer): void {
    this.answerLocally = answer;
  }

  /** Look-ups need the broker: without it only this replica would answer, falsely. */
  assertAvailable(): void {
    if (this.relay.state !== 'connected') {
      throw new AppError('unavailable', 'presence is unavailable while the broker is unreachable');
    }
  }

  /**
   * Asks every live instance (this one included) and sums their counts; an instance that does not
   * answer within a heartbeat interval is left out (it is about to be declared dead anyway). A
   * `Map`: user ids such as `__proto__` or `constructor` are keys like any other.
   */
  async gather(query: ClusterLookup): Promise<Map<string, number>> {
    this.assertAvailable();
    const total = this.answerLocally?.(query) ?? new Map<string, number>();
    const expected = this.membership.others();
    if (expected.length === 0) return total;
    const { answers } = await this.rounds.ask(
      (n) => {
        const message: QueryMessage = { ...query, i: this.membership.instance, n };
        return this.publisher.send(ClusterSubject.query, message);
      },
      { expected, timeoutMs: this.config.presence.heartbeatMs },
    );
    for (const answer of answers) {
      for (const [key, count] of countsOf(answer.counts))
        total.set(key, (total.get(key) ?? 0) + count);
    }
    return total;
  }

  private onQuery(data: Uint8Array): void {
    const query = decode<QueryMessage>(data);
    if (!query || typeof query.i !== 'string' || query.i === this.membership.instance) return;
    this.membership.heard(query.i);
    const counts = this.answerLocally?.(query) ?? new Map<string, number>();
    // fromEntries defines own keys: `__proto__` stays a user id on the wire.
    const answer: AnswerMessage = {
      i: this.membership.instance,
      n: query.n,
      counts: Object.fromEntries(counts),
    };
    void this.publisher.send(ClusterSubject.reply(query.i), answer);
  }

  private onAnswer(data: Uint8Array): void {
    const answer = decode<AnswerMessage>(data);
    if (!answer || typeof answer.i !== 'string') return;
    this.membership.heard(answer.i);
    this.rounds.take(answer);
  }
}
