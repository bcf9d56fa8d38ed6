import type { Principal } from '@app/core';
import { loadConfig } from '../config';
import { RoomAccess } from './room-access';
import { RoomPolicy } from './room-policy';

class RecordingPolicy extends RoomPolicy {
  readonly asked: string[] = [];
  canJoin(user: Principal, room: string): Promise<boolean> {
    this.asked.push(room);
    return Promise.resolve(room === `dm:${user.id}`);
  }
}

const user = (rooms?: string[]): Principal => ({ id: 'u', scopes: [], ...(rooms && { rooms }) });

describe(RoomAccess.name, () => {
  it('allows by ROOMS_OPEN, then the rooms claim, then the policy, asking it last', async () => {
    const policy = new RecordingPolicy();
    const sut = new RoomAccess(loadConfig({ ROOMS_OPEN: 'lobby, public:*' }), policy);
    expect(await sut.canJoin(user(), 'lobby')).toBe(true);
    expect(await sut.canJoin(user(), 'public:x')).toBe(true);
    expect(await sut.canJoin(user(['team:42']), 'team:42')).toBe(true);
    expect(policy.asked).toEqual([]);
    expect(await sut.canJoin(user(), 'dm:u')).toBe(true);
    expect(await sut.canJoin(user(['team:42']), 'team:420')).toBe(false);
    expect(policy.asked).toEqual(['dm:u', 'team:420']);
  });

  it('opens every room by default and none with ROOMS_OPEN=none and no policy', async () => {
    expect(await new RoomAccess(loadConfig({}), undefined).canJoin(user(), 'any')).toBe(true);
    const closed = new RoomAccess(loadConfig({ ROOMS_OPEN: 'none' }), undefined);
    expect(await closed.canJoin(user(), 'any')).toBe(false);
    await expect(closed.assertCanJoin(user(), 'any')).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('refuses a bad ROOMS_OPEN at start-up', () => {
    expect(() => loadConfig({ ROOMS_OPEN: 'a b' })).toThrow(/ROOMS_OPEN/);
    expect(() => loadConfig({ ROOMS_OPEN: 'x*y' })).toThrow(/ROOMS_OPEN/);
  });
});
