export type PresenceTransition = 'join' | 'leave';

/**
 * Who is in one room across the cluster, as seen by a replica with members there: which instances
 * hold each user. A user joins when the first instance holds them and leaves when none has for the
 * grace period, so a reconnect or a drain (gone here, back there) announces nothing.
 */
export class RoomPresence {
  private readonly holders = new Map<string, Set<string>>();
  private readonly present = new Set<string>();
  private readonly leaving = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly graceMs: number,
    private readonly announce: (transition: PresenceTransition, userId: string) => void,
  ) {}

  /** Users present (joined and not yet left, those in their grace period included). */
  users(): string[] {
    return [...this.present];
  }

  /** Instance `instance` holds `userId` (or no longer does). `quiet` records without announcing. */
  set(instance: string, userId: string, held: boolean, quiet = false): void {
    let instances = this.holders.get(userId);
    if (held) {
      if (!instances) this.holders.set(userId, (instances = new Set()));
      instances.add(instance);
    } else if (instances?.delete(instance) && instances.size === 0) {
      this.holders.delete(userId);
    }
    this.settle(userId, quiet);
  }

  /** Replaces everything known of `instance` with `userIds`. */
  replace(instance: string, userIds: readonly string[], quiet = false): void {
    const now = new Set(userIds);
    for (const [userId, instances] of [...this.holders]) {
      if (instances.has(instance) && !now.has(userId)) this.set(instance, userId, false, quiet);
    }
    for (const userId of now) this.set(instance, userId, true, quiet);
  }

  /** Forgets an instance that died or left. */
  drop(instance: string): void {
    this.replace(instance, []);
  }

  close(): void {
    for (const timer of this.leaving.values()) clearTimeout(timer);
    this.leaving.clear();
  }

  private settle(userId: string, quiet: boolean): void {
    if (this.holders.has(userId)) {
      const timer = this.leaving.get(userId);
      if (timer) {
        clearTimeout(timer);
        this.leaving.delete(userId);
      }
      if (!this.present.has(userId)) {
        this.present.add(userId);
        if (!quiet) this.announce('join', userId);
      }
      return;
    }
    if (!this.present.has(userId) || this.leaving.has(userId)) return;
    const timer = setTimeout(() => {
      this.leaving.delete(userId);
      if (this.holders.has(userId)) return;
      this.present.delete(userId);
      this.announce('leave', userId);
    }, this.graceMs);
    timer.unref();
    this.leaving.set(userId, timer);
  }
}
