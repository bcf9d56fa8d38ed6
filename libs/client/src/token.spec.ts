import { refreshTime, tokenExpiry } from './token';
import { fakeJwt } from './testing/fake-jwt';

describe(tokenExpiry.name, () => {
  it('reads exp from the payload without verifying', () => {
    expect(tokenExpiry(fakeJwt({ sub: 'ü-user', exp: 1_700_000_000 }))).toBe(1_700_000_000);
  });

  it('is undefined for a token without exp, or not a JWT at all', () => {
    expect(tokenExpiry(fakeJwt({ sub: 'a' }))).toBeUndefined();
    expect(tokenExpiry('opaque-token')).toBeUndefined();
    expect(tokenExpiry('a.%%%.c')).toBeUndefined();
    expect(tokenExpiry('a.bnVsbA.c')).toBeUndefined(); // "null"
  });
});

describe(refreshTime.name, () => {
  it('is `fraction` of the way from now to exp', () => {
    const token = fakeJwt({ exp: 200 });
    expect(refreshTime(token, 0.8, 100_000)).toBe(180_000);
  });

  it('is now for a token already past due, and undefined without exp', () => {
    expect(refreshTime(fakeJwt({ exp: 50 }), 0.8, 100_000)).toBe(100_000);
    expect(refreshTime('opaque', 0.8, 0)).toBeUndefined();
  });
});
