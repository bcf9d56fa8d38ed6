import { sign, type SignOptions } from 'jsonwebtoken';
import { DEVELOPMENT_JWT_SECRET } from '../../src/config';

/** A token signed with the development secret the test replicas use; `rooms` is the rooms claim. */
export function tokenFor(
  userId: string,
  options: SignOptions & { scope?: string; rooms?: string[] } = {},
): string {
  const { scope, rooms, ...rest } = options;
  return sign({ ...(scope && { scope }), ...(rooms && { rooms }) }, DEVELOPMENT_JWT_SECRET, {
    algorithm: 'HS256',
    subject: userId,
    expiresIn: '1h',
    ...rest,
  });
}
