import { InMemoryHolderStore } from './holder-store';
import { TransitionTracker } from './transition-tracker';
import type { WebhookEvent } from './webhook-event';

const GRACE_MS = 1000;

describe(TransitionTracker.name, () => {
  let events: WebhookEvent[];
  let dedupeIds: string[];
  let store: InMemoryHolderStore;
  let a: TransitionTracker;
  let b: TransitionTracker;

  /** A replica's tracker on the shared store. */
  const tracker = (instance: string) =>
    new TransitionTracker({
      instance,
      graceMs: GRACE_MS,
      store,
      report: (event, dedupeId) => {
        events.push(event);
        dedupeIds.push(dedupeId);
        return Promise.resolve();
      },
    });
  const names = () => events.map((e) => `${e.name} ${e.userId ?? e.room}`);

  beforeEach(() => {
    jest.useFakeTimers();
    events = [];
    dedupeIds = [];
    store = new InMemoryHolderStore();
    a = tracker('instance-a');
    b = tracker('instance-b');
  });

  afterEach(() => {
    a.close();
    b.close();
    jest.useRealTimers();
  });

  it('reports a user online once when two replicas get them at once, offline once after both', async () => {
    a.add('user', 'alice');
    b.add('user', 'alice');
    a.add('user', 'alice');
    await jest.advanceTimersByTimeAsync(0);
    expect(names()).toEqual(['user.online alice']);
    a.remove('user', 'alice');
    a.remove('user', 'alice');
    b.remove('user', 'alice');
    await jest.advanceTimersByTimeAsync(GRACE_MS - 1);
    expect(names()).toEqual(['user.online alice']);
    await jest.advanceTimersByTimeAsync(1);
    expect(names()).toEqual(['user.online alice', 'user.offline alice']);
    expect(new Set(dedupeIds).size).toBe(2);
  });

  it('reports nothing for a user back within the grace period, here or on another replica', async () => {
    a.add('room', 'lobby');
    await jest.advanceTimersByTimeAsync(0);
    a.remove('room', 'lobby');
    await jest.advanceTimersByTimeAsync(GRACE_MS / 2);
    a.add('room', 'lobby');
    a.remove('room', 'lobby');
    b.add('room', 'lobby');
    await jest.advanceTimersByTimeAsync(GRACE_MS * 2);
    expect(names()).toEqual(['room.occupied lobby']);
  });

  it('releases what a dead instance held, reported once however many replicas sweep', async () => {
    a.add('user', 'dave');
    a.add('room', 'hooks');
    await jest.advanceTimersByTimeAsync(0);
    const live = new Set(['instance-b']);
    await Promise.all([b.forgetAllBut(live), tracker('instance-c').forgetAllBut(live)]);
    expect(names().sort()).toEqual([
      'room.occupied hooks',
      'room.vacated hooks',
      'user.offline dave',
      'user.online dave',
    ]);
  });

  it('names users and rooms with any character', async () => {
    a.add('user', 'üser/with.dots:and spaces');
    await jest.advanceTimersByTimeAsync(0);
    expect(events[0]).toMatchObject({
      name: 'user.online',
      userId: 'üser/with.dots:and spaces',
      id: expect.any(String),
      timeMs: expect.any(Number),
    });
    expect(events[0]).not.toHaveProperty('room');
  });
});
