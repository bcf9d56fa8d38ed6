import { Test } from '@nestjs/testing';
import { sign, type SignOptions } from 'jsonwebtoken';
import { Registry } from 'prom-client';
import { AppConfig, ConfigModule, loadConfig } from '../config';
import { MetricsModule } from '../metrics/metrics.module';
import { AuthModule } from './auth.module';
import { TokenGate } from './token-gate';
import { TokenRefused, type RefusalReason } from './token-refused';

const SECRET = 'a-token-gate-secret-that-is-long-enough-0123';
const now = () => Math.floor(Date.now() / 1000);
const token = (claims: object = {}, options: SignOptions = {}, secret = SECRET): string =>
  sign(claims, secret, {
    algorithm: 'HS256',
    subject: 'u1',
    issuer: 'iss-1',
    audience: 'aud-1',
    expiresIn: '1h',
    ...options,
  });

describe(TokenGate.name, () => {
  let sut: TokenGate;
  let registry: Registry;

  beforeEach(async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      JWT_SECRET: SECRET,
      JWT_ISSUER: 'iss-1',
      JWT_AUDIENCE: 'aud-1',
    });
    const module = await Test.createTestingModule({
      imports: [ConfigModule, MetricsModule, AuthModule],
    })
      .overrideProvider(AppConfig)
      .useValue(config)
      .compile();
    registry = module.get(Registry);
    sut = module.get(TokenGate);
  });

  const refusal = (make: () => string | undefined): RefusalReason | 'admitted' => {
    try {
      sut.admit(make(), 'http');
      return 'admitted';
    } catch (error) {
      if (error instanceof TokenRefused) return error.reason;
      throw error;
    }
  };

  it.each<[RefusalReason | 'admitted', () => string | undefined]>([
    ['admitted', () => token()],
    ['missing', () => undefined],
    ['malformed', () => 'not.a.jwt'],
    ['expired', () => token({}, { expiresIn: -1 })],
    ['not_yet_valid', () => token({ nbf: now() + 600 })],
    ['bad_signature', () => token({}, {}, 'another-secret-that-is-long-enough-too-0123')],
    ['wrong_algorithm', () => token({}, { algorithm: 'HS384' })],
    ['wrong_issuer', () => token({}, { issuer: 'iss-2' })],
    ['wrong_audience', () => token({}, { audience: 'aud-2' })],
    ['missing_sub', () => sign({}, SECRET, { issuer: 'iss-1', audience: 'aud-1' })],
  ])('%s', (expected, make) => {
    expect(refusal(make)).toBe(expected);
  });

  it('counts each refusal once under its transport and reason, from zero', async () => {
    const value = async (labels: Record<string, string>): Promise<number> => {
      const metric = await registry.getSingleMetric('realtime_auth_refused_total')?.get();
      return (
        metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
          ?.value ?? Number.NaN
      );
    };
    expect(await value({ transport: 'ws', reason: 'expired' })).toBe(0);
    expect(() => sut.admit(token({}, { expiresIn: -1 }), 'ws')).toThrow(TokenRefused);
    expect(await value({ transport: 'ws', reason: 'expired' })).toBe(1);
    expect(await value({ transport: 'http', reason: 'expired' })).toBe(0);
  });
});
