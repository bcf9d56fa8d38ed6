/**
 * The ids of the most recent messages of one room, stream or inbox, in arrival order, at most
 * `capacity` of them: a repeat (a resume overlapping what arrived live) is recognised with bounded
 * memory. Messages arrive in seq order, so the oldest id is the first one a replay stops repeating.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError('the dedupe window must be a positive integer');
    }
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Records `id`; false when it was already there (a repeat). */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next();
      if (!oldest.done) this.ids.delete(oldest.value);
    }
    return true;
  }
}
