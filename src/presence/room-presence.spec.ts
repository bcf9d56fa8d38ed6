import { RoomPresence, type PresenceTransition } from './room-presence';

describe(RoomPresence.name, () => {
  let events: Array<[PresenceTransition, string]>;
  let sut: RoomPresence;

  beforeEach(() => {
    jest.useFakeTimers();
    events = [];
    sut = new RoomPresence(5000, (t, u) => events.push([t, u]));
  });
  afterEach(() => {
    sut.close();
    jest.useRealTimers();
  });

  it('announces a user once however many instances hold them', () => {
    sut.set('r1', 'u', true);
    sut.set('r2', 'u', true);
    sut.set('r1', 'u', true);
    expect(events).toEqual([['join', 'u']]);
    expect(sut.users()).toEqual(['u']);
  });

  it('announces the leave once, after the grace period, when no instance holds the user', () => {
    sut.set('r1', 'u', true);
    sut.set('r2', 'u', true);
    sut.set('r1', 'u', false);
    jest.advanceTimersByTime(10_000);
    expect(events).toEqual([['join', 'u']]);
    sut.set('r2', 'u', false);
    jest.advanceTimersByTime(4999);
    expect(events).toHaveLength(1);
    expect(sut.users()).toEqual(['u']);
    jest.advanceTimersByTime(1);
    expect(events).toEqual([
      ['join', 'u'],
      ['leave', 'u'],
    ]);
    expect(sut.users()).toEqual([]);
  });

  it('hides a reconnect within the grace period (gone here, back there)', () => {
    sut.set('r1', 'u', true);
    sut.set('r1', 'u', false);
    jest.advanceTimersByTime(3000);
    sut.set('r2', 'u', true);
    jest.advanceTimersByTime(10_000);
    expect(events).toEqual([['join', 'u']]);
  });

  it('replaces an instance’s users from a snapshot, quietly when asked', () => {
    sut.replace('r1', ['a', 'b'], true);
    expect(events).toEqual([]);
    expect(sut.users().sort()).toEqual(['a', 'b']);
    sut.replace('r1', ['b', 'c']);
    jest.advanceTimersByTime(5000);
    expect(events).toEqual([
      ['join', 'c'],
      ['leave', 'a'],
    ]);
  });

  it('drops every user of an instance that died', () => {
    sut.set('dead', 'a', true);
    sut.set('dead', 'b', true);
    sut.set('alive', 'b', true);
    sut.drop('dead');
    jest.advanceTimersByTime(5000);
    expect(events.filter(([t]) => t === 'leave')).toEqual([['leave', 'a']]);
  });
});
