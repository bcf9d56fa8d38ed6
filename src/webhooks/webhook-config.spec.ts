import { loadConfig } from '../config';

describe('webhook configuration', () => {
  it('is off without WEBHOOK_URL', () => {
    expect(loadConfig({}).webhooks).toBeUndefined();
  });

  it('reads several URLs, the secret and the batch window', () => {
    const sut = loadConfig({
      WEBHOOK_URL: 'https://a.example.com/hooks, http://10.0.0.2:8080/in',
      WEBHOOK_SECRET: 'x'.repeat(16),
      WEBHOOK_BATCH_MS: '100',
    });
    expect(sut.webhooks).toEqual({
      urls: ['https://a.example.com/hooks', 'http://10.0.0.2:8080/in'],
      secret: 'x'.repeat(16),
      batchMs: 100,
    });
    expect(
      loadConfig({ WEBHOOK_URL: 'http://a/', WEBHOOK_SECRET: 'x'.repeat(16) }).webhooks,
    ).toMatchObject({ batchMs: 250 });
  });

  it('refuses a URL without a secret, a short secret and a URL that is not http(s)', () => {
    expect(() => loadConfig({ WEBHOOK_URL: 'https://a.example.com/' })).toThrow(
      /WEBHOOK_SECRET \(at least 16 characters\) is required/,
    );
    expect(() => loadConfig({ WEBHOOK_URL: 'https://a/', WEBHOOK_SECRET: 'short' })).toThrow(
      /WEBHOOK_SECRET/,
    );
    expect(() => loadConfig({ WEBHOOK_URL: 'ftp://a/', WEBHOOK_SECRET: 'x'.repeat(16) })).toThrow(
      /WEBHOOK_URL must be a comma-separated list of http/,
    );
    expect(() => loadConfig({ WEBHOOK_BATCH_MS: '-1' })).toThrow(/WEBHOOK_BATCH_MS/);
  });
});
