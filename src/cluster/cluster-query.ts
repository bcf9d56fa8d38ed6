import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { AppError } from '@app/core';
import { Relay } from '@app/relay';
import { AppConfig } from '../config';
import { ClusterMembership } from './cluster-membership';
import { ClusterPublisher } from './cluster-publisher';
import { countsOf, decode, type AnswerMessage, type QueryMessage } from './cluster.messages';
import { ClusterSubject } from './cluster.subjects';

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
  private readonly pending = new Map<
    number,
    { expected: Set<string>; answers: AnswerMessage[]; done: () => void }
  >();
  private answerLocally?: LocalAnswer;
  private nextQuery = 1;
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
    const n = this.nextQuery++;
    const total = this.answerLocally?.(query) ?? new Map<string, number>();
    const expected = new Set(this.membership.others());
    const answers: AnswerMessage[] = [];
    if (expected.size > 0) {
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(finish, this.config.presence.heartbeatMs);
        function finish(): void {
          clearTimeout(timeout);
          resolve();
        }
        this.pending.set(n, { expected, answers, done: finish });
        const message: QueryMessage = { ...query, i: this.membership.instance, n };
        this.publisher.send(ClusterSubject.query, message).catch(finish);
      });
      this.pending.delete(n);
    }
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
    const pending = this.pending.get(answer.n);
    if (!pending || !pending.expected.delete(answer.i)) return;
    pending.answers.push(answer);
    if (pending.expected.size === 0) pending.done();
  }
}
