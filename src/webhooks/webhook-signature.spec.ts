import { createHmac } from 'node:crypto';
import { sign, verify } from './webhook-signature';

describe(sign.name, () => {
  const secret = 'a-webhook-secret';
  const body = '{"id":"b1","timeMs":1,"events":[]}';

  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">', () => {
    const mac = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(sign(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${mac}`);
  });

  it('verifies its own signature and refuses another body, secret or an old one', () => {
    const header = sign(secret, body, 1_700_000_000);
    expect(verify(secret, body, header, 1_700_000_010)).toBe(true);
    expect(verify(secret, `${body} `, header, 1_700_000_010)).toBe(false);
    expect(verify('another-secret', body, header, 1_700_000_010)).toBe(false);
    expect(verify(secret, body, header, 1_700_000_000 + 301)).toBe(false);
    expect(verify(secret, body, 'garbage', 1_700_000_000)).toBe(false);
  });
});
