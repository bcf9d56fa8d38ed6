import {
  startNatsServer,
  waitFor,
  WsTestClient,
  type NatsServerHandle,
  type TestApp,
} from '@app/testing';
import { sign } from 'jsonwebtoken';
import request from 'supertest';
import { startReplica } from '../support/replica';

interface ReplicaView {
  replica: string;
  self: boolean;
  connections?: number;
  channels?: number;
  framesIn?: number;
}

const SECRET = 'a-production-secret-that-is-long-enough-000';

describe('the console API', () => {
  let nats: NatsServerHandle;
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    nats = await startNatsServer();
    const env = { NATS_URL: nats.url, PRESENCE_HEARTBEAT_MS: '200' };
    [a, b] = await Promise.all([
      startReplica({ ...env, REPLICA_ID: 'ca' }),
      startReplica({ ...env, REPLICA_ID: 'cb' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await nats?.stop();
  });

  it('mints a development token that the WebSocket endpoint accepts', async () => {
    const res = await request(a.app.getHttpServer())
      .post('/auth/dev-token')
      .send({ userId: 'dev-user' })
      .expect(200);
    expect(res.body).toMatchObject({ userId: 'dev-user', development: true });
    const client = await WsTestClient.connect(b.wsUrl, { token: res.body.token });
    expect((await client.nextEvent('welcome')).data.userId).toBe('dev-user');
    await client.close();
    await request(a.app.getHttpServer()).post('/auth/dev-token').send({ userId: '' }).expect(400);
    await request(a.app.getHttpServer())
      .post('/auth/dev-token')
      .send({ userId: 'x', scopes: ['root'] })
      .expect(400);
  });

  it('shows every live replica with its connections and frame counts', async () => {
    const token = (
      await request(a.app.getHttpServer()).post('/auth/dev-token').send({ userId: 'viewer' })
    ).body.token as string;
    const clients = [
      await WsTestClient.open(b.wsUrl, { token }),
      await WsTestClient.open(b.wsUrl, { token }),
    ];
    await clients[0]!.call('chat.join', { room: 'console' });
    let replicas: ReplicaView[] = [];
    // The view comes from heartbeats: there is no event to await.
    await waitFor("cb's clients in the cluster view", async () => {
      replicas = (await request(a.app.getHttpServer()).get('/cluster').expect(200)).body.replicas;
      const remote = replicas.find((r) => r.replica === 'cb');
      return remote?.connections === 2 && (remote.framesIn ?? 0) >= 1;
    });
    expect(replicas.map((r) => r.replica).sort()).toEqual(['ca', 'cb']);
    expect(replicas.find((r) => r.self)?.replica).toBe('ca');
    expect(replicas.find((r) => r.replica === 'cb')?.channels).toBeGreaterThanOrEqual(1);
    await Promise.all(clients.map((c) => c.close()));
  });
});

describe('the console API in production', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startReplica({ NODE_ENV: 'production', JWT_SECRET: SECRET, LOG_LEVEL: 'error' });
  });
  afterAll(() => app?.close());

  it('has no development token, and guards the cluster view with cluster:read', async () => {
    const server = app.app.getHttpServer();
    await request(server).post('/auth/dev-token').send({ userId: 'x' }).expect(404);
    await request(server).get('/cluster').expect(401);
    const plain = sign({}, SECRET, { subject: 'u', expiresIn: '1h' });
    await request(server).get('/cluster').set('authorization', `Bearer ${plain}`).expect(403);
    const reader = sign({ scope: 'cluster:read' }, SECRET, { subject: 'ops', expiresIn: '1h' });
    const res = await request(server)
      .get('/cluster')
      .set('authorization', `Bearer ${reader}`)
      .expect(200);
    expect(res.body.development).toBe(false);
    expect(res.body.replicas).toHaveLength(1);
  });
});
