/** What one compare-and-set changed: holder counts before and after, and a unique id for it. */
export interface HolderChange {
  before: number;
  after: number;
  /** Unique per change of any key: the dedupe id of the events it decides. */
  changeId: string;
}

/**
 * Which instances hold each key (a user online, a room occupied), shared by the cluster. Every
 * change is a compare-and-set, so of replicas changing one key at once exactly one sees each
 * empty → held and held → empty change: that one reports the transition.
 */
export abstract class HolderStore {
  /** Applies `change` to the holders of `key`; undefined when it changed nothing. */
  abstract update(
    key: string,
    change: (holders: Set<string>) => void,
  ): Promise<HolderChange | undefined>;
  /** Every key held by some instance now. */
  abstract keys(): Promise<string[]>;
}

/** Embedded mode: this process is the cluster. */
export class InMemoryHolderStore extends HolderStore {
  private readonly holders = new Map<string, Set<string>>();
  private changes = 0;

  update(key: string, change: (holders: Set<string>) => void): Promise<HolderChange | undefined> {
    const current = this.holders.get(key) ?? new Set<string>();
    const next = new Set(current);
    change(next);
    if (sameSet(current, next)) return Promise.resolve(undefined);
    if (next.size === 0) this.holders.delete(key);
    else this.holders.set(key, next);
    return Promise.resolve({
      before: current.size,
      after: next.size,
      changeId: `${key}.${++this.changes}`,
    });
  }

  keys(): Promise<string[]> {
    return Promise.resolve([...this.holders.keys()]);
  }
}

export function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}
