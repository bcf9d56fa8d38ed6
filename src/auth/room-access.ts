import { Injectable, Optional } from '@nestjs/common';
import { AppError, type Principal } from '@app/core';
import { AppConfig } from '../config';
import { RoomPolicy } from './room-policy';
import { matchesAnyRoom } from './room-patterns';

/**
 * Who may join a room (and look at its presence and history): `ROOMS_OPEN`, then the token's
 * `rooms` claim, then the application's `RoomPolicy`, in that order; the first that allows wins.
 */
@Injectable()
export class RoomAccess {
  constructor(
    private readonly config: AppConfig,
    @Optional() private readonly policy?: RoomPolicy,
  ) {}

  async canJoin(user: Principal, room: string): Promise<boolean> {
    if (matchesAnyRoom(this.config.rooms.open, room)) return true;
    if (user.rooms && matchesAnyRoom(user.rooms, room)) return true;
    return (await this.policy?.canJoin(user, room)) ?? false;
  }

  async assertCanJoin(user: Principal, room: string): Promise<void> {
    if (!(await this.canJoin(user, room))) {
      throw new AppError('forbidden', `not allowed in room "${room}"`);
    }
  }
}
