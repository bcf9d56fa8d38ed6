import { sign, type SignOptions } from 'jsonwebtoken';
import { DEVELOPMENT_JWT_SECRET } from '../../src/config';

/** A token signed with the development secret the test replicas use. */
export function tokenFor(userId: string, options: SignOptions & { scope?: string } = {}): string {
  const { scope, ...rest } = options;
  return sign(scope ? { scope } : {}, DEVELOPMENT_JWT_SECRET, {
    algorithm: 'HS256',
    subject: userId,
    expiresIn: '1h',
    ...rest,
  });
}
