/** An answer to a request asked of every instance: who answers, and to which request number. */
export interface GatherAnswer {
  i: string;
  n: number;
}

export interface GatherOptions {
  /** The instances expected to answer (the live ones, this one left out). */
  expected: Iterable<string>;
  /** How long the slowest may take; it is left out after that. */
  timeoutMs: number;
  /** Whether an instance not expected (one that started a moment ago) counts too, once. */
  countUnexpected?: boolean;
}

export interface Gathered<A> {
  answers: A[];
  /** Expected instances that did not answer in time. */
  missing: ReadonlySet<string>;
}

interface Round<A> {
  expected: Set<string>;
  answered: Set<string>;
  answers: A[];
  countUnexpected: boolean;
  done: () => void;
}

/**
 * The bookkeeping of scatter-gather requests (presence look-ups, user disconnects): each request
 * gets a number, and the answers carrying it are collected, one per instance, until every expected
 * instance answered or the time is up.
 */
export class ScatterGather<A extends GatherAnswer> {
  private readonly rounds = new Map<number, Round<A>>();
  private nextRequest = 1;

  /** Calls `send` with a new request number, then waits for the answers `take` is given. */
  async ask(send: (n: number) => Promise<void>, options: GatherOptions): Promise<Gathered<A>> {
    const n = this.nextRequest++;
    const round: Round<A> = {
      expected: new Set(options.expected),
      answered: new Set(),
      answers: [],
      countUnexpected: options.countUnexpected ?? false,
      done: () => undefined,
    };
    let timer: NodeJS.Timeout | undefined;
    const finished = new Promise<void>((resolve) => {
      round.done = resolve;
      if (round.expected.size === 0) resolve();
      else timer = setTimeout(resolve, options.timeoutMs);
    });
    this.rounds.set(n, round);
    try {
      await send(n);
      await finished;
    } finally {
      clearTimeout(timer);
      this.rounds.delete(n);
    }
    return { answers: round.answers, missing: round.expected };
  }

  /** An answer arrived: kept when it belongs to a request still waiting, once per instance. */
  take(answer: A): void {
    const round = this.rounds.get(answer.n);
    if (!round || round.answered.has(answer.i)) return;
    if (!round.expected.delete(answer.i) && !round.countUnexpected) return;
    round.answered.add(answer.i);
    round.answers.push(answer);
    if (round.expected.size === 0) round.done();
  }
}
