import type { Principal } from '@app/core';

/**
 * The application's say on who may join a room, asked after `ROOMS_OPEN` and the token's `rooms`
 * claim have not allowed it (docs/extending.md). Provide it from a `@Global()` module that exports
 * it: `{ provide: RoomPolicy, useClass: TeamRoomPolicy }`. Without one, such rooms are refused.
 */
export abstract class RoomPolicy {
  abstract canJoin(user: Principal, room: string): boolean | Promise<boolean>;
}
