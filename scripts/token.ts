/**
 * Prints a token signed with the configured key:
 *   npm run token -- <userId> [--scope notifications:publish]… [--room team:42]… [--ttl 1h]
 */
import 'reflect-metadata';
import { JwtService } from '@nestjs/jwt';
import { TokenService } from '../src/auth/token.service';
import { ConfigError, loadConfig } from '../src/config';

const USAGE =
  'usage: npm run token -- <userId> [--scope <scope>]… [--room <room or prefix*>]… [--ttl <30s|15m|1h|7d>]';

function parse(argv: string[]): { userId: string; scopes: string[]; rooms: string[]; ttl: string } {
  const scopes: string[] = [];
  const rooms: string[] = [];
  let ttl = '1h';
  let userId: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--scope')
      scopes.push(
        ...value()
          .split(/[\s,]+/)
          .filter(Boolean),
      );
    else if (arg === '--room') rooms.push(value());
    else if (arg === '--ttl') ttl = value();
    else if (arg === '--help' || arg === '-h') throw new Error(USAGE);
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}\n${USAGE}`);
    else if (userId === undefined) userId = arg;
    else throw new Error(`unexpected argument ${arg}\n${USAGE}`);
  }
  if (!userId) throw new Error(`a user id is required\n${USAGE}`);
  if (!/^\d+[smhd]$/.test(ttl))
    throw new Error(`--ttl must look like 30s, 15m, 1h or 7d (got ${ttl})`);
  return { userId, scopes, rooms, ttl };
}

try {
  const { userId, scopes, rooms, ttl } = parse(process.argv.slice(2));
  const tokens = new TokenService(new JwtService(), loadConfig(process.env));
  if (tokens.developmentKey)
    console.error('(signed with the development secret: no JWT_SECRET / JWT_PUBLIC_KEY set)');
  console.log(tokens.sign(userId, { scopes, rooms, ttl }));
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : (error as Error).message);
  process.exit(1);
}
