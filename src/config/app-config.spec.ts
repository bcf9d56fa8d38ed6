import { ConfigError, DEVELOPMENT_JWT_SECRET, loadConfig } from './app-config';

describe(loadConfig.name, () => {
  it('has the contract’s defaults', () => {
    const sut = loadConfig({});
    expect(sut).toMatchObject({
      env: 'development',
      port: 3000,
      natsServers: [],
      ws: {
        maxPayloadBytes: 65536,
        maxBufferedBytes: 4 * 1024 * 1024,
        ratePerSecond: 100,
        rateBurst: 200,
      },
      drainWindowMs: 10_000,
      limits: {
        jsonMaxDepth: 32,
        maxRooms: 128,
        maxStreams: 128,
        maxInFlight: 64,
        maxConnectionsPerUser: 32,
      },
      history: { maxMessages: 1000, maxAgeMs: 86_400_000, stream: 'RT', replicas: 1 },
      jwt: { key: { kind: 'secret', secret: DEVELOPMENT_JWT_SECRET, development: true } },
    });
    expect(sut.replicaId).toMatch(/-\d+$/);
  });

  it('reads and converts values', () => {
    const sut = loadConfig({
      PORT: '8080',
      NATS_URL: 'nats://10.0.0.1:4222, nats://10.0.0.2:4222',
      REPLICA_ID: 'r1',
      JWT_SECRET: 's'.repeat(32),
      WS_RATE_PER_SECOND: '5',
    });
    expect(sut.port).toBe(8080);
    expect(sut.natsServers).toEqual(['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']);
    expect(sut.replicaId).toBe('r1');
    expect(sut.jwt.key).toEqual({ kind: 'secret', secret: 's'.repeat(32), development: false });
    expect(sut.ws.ratePerSecond).toBe(5);
  });

  it('names every bad variable in one error', () => {
    const attempt = () =>
      loadConfig({
        PORT: 'eighty',
        NATS_URL: 'x:y:z',
        WS_RATE_BURST: '0',
        NODE_ENV: 'staging',
      });
    expect(attempt).toThrow(ConfigError);
    const message = (() => {
      try {
        attempt();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const name of ['PORT', 'NATS_URL', 'WS_RATE_BURST', 'NODE_ENV'])
      expect(message).toContain(`${name}:`);
    expect(message).toContain('PORT: PORT must be an integer');
    expect(message.match(/PORT:/g)).toHaveLength(1);
  });

  it('refuses production without a key, and both kinds of key at once', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(
      /JWT_SECRET or JWT_PUBLIC_KEY is required/,
    );
    expect(() =>
      loadConfig({ JWT_SECRET: 's'.repeat(32), JWT_PUBLIC_KEY: '-----BEGIN PUBLIC KEY-----\nx' }),
    ).toThrow(/not both/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32) }).env).toBe(
      'production',
    );
  });

  it('reads the limits and refuses ones that are not positive integers', () => {
    const sut = loadConfig({
      JSON_MAX_DEPTH: '8',
      WS_MAX_ROOMS: '3',
      MAX_CONNECTIONS_PER_USER: '2',
    });
    expect(sut.limits).toMatchObject({ jsonMaxDepth: 8, maxRooms: 3, maxConnectionsPerUser: 2 });
    expect(() =>
      loadConfig({ JSON_MAX_DEPTH: '1', WS_MAX_STREAMS: '0', WS_MAX_INFLIGHT: 'many' }),
    ).toThrow(/JSON_MAX_DEPTH:[^]*WS_MAX_STREAMS:[^]*WS_MAX_INFLIGHT:/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ NATS_URL: '', PORT: ' ' })).toMatchObject({ natsServers: [], port: 3000 });
  });

  it('refuses a short secret', () => {
    expect(() => loadConfig({ JWT_SECRET: 'short' })).toThrow(
      /JWT_SECRET: JWT_SECRET must be at least 32/,
    );
  });
});
