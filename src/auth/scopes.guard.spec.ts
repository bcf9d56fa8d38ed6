import { Controller, Get, UseGuards, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Principal } from '@app/core';
import { sign } from 'jsonwebtoken';
import request from 'supertest';
import { AppConfig, ConfigModule, loadConfig } from '../config';
import { HttpErrorFilter } from '../http/http-error.filter';
import { AuthModule } from './auth.module';
import { Scope } from './scopes';
import { CurrentUser, OpenInDevelopment, Scopes, ScopesGuard } from './scopes.guard';

const SECRET = 'scopes-guard-spec-secret-0123456789';

@Controller()
@UseGuards(ScopesGuard)
class GuardedController {
  @Get('push')
  @Scopes(Scope.NotificationsPublish)
  push(@CurrentUser() user: Principal) {
    return { caller: user.id, scopes: user.scopes };
  }

  @Get('cluster')
  @Scopes(Scope.ClusterRead)
  @OpenInDevelopment()
  cluster() {
    return { open: true };
  }
}

async function appIn(env: 'development' | 'production'): Promise<INestApplication> {
  const config = loadConfig({ NODE_ENV: env, JWT_SECRET: SECRET, PORT: '0' });
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule, AuthModule],
    controllers: [GuardedController],
  })
    .overrideProvider(AppConfig)
    .useValue(config)
    .compile();
  const app = moduleRef.createNestApplication({ logger: false });
  app.useGlobalFilters(new HttpErrorFilter());
  await app.init();
  return app;
}

const token = (scope?: string): string =>
  sign(scope ? { scope } : {}, SECRET, { algorithm: 'HS256', subject: 'svc', expiresIn: '1h' });

describe(ScopesGuard.name, () => {
  let dev: INestApplication;
  let prod: INestApplication;

  beforeAll(async () => {
    [dev, prod] = await Promise.all([appIn('development'), appIn('production')]);
  });
  afterAll(() => Promise.all([dev.close(), prod.close()]));

  it('answers 401 unauthorized without a token, and with a bad one', async () => {
    const none = await request(dev.getHttpServer()).get('/push');
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ code: 'unauthorized' });
    const forged = await request(dev.getHttpServer())
      .get('/push')
      .set('Authorization', `Bearer ${sign({}, 'another-secret', { subject: 'x' })}`);
    expect(forged.status).toBe(401);
  });

  it('answers 403 naming the missing scope', async () => {
    const res = await request(dev.getHttpServer())
      .get('/push')
      .set('Authorization', `Bearer ${token('presence:read')}`);
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      code: 'forbidden',
      message: 'the token lacks the scope notifications:publish',
    });
  });

  it('lets a token with the scope through and gives the route its principal', async () => {
    const res = await request(dev.getHttpServer())
      .get('/push')
      .set('Authorization', `Bearer ${token('presence:read notifications:publish')}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      caller: 'svc',
      scopes: ['presence:read', 'notifications:publish'],
    });
  });

  it('opens an @OpenInDevelopment() route outside production only', async () => {
    expect((await request(dev.getHttpServer()).get('/cluster')).status).toBe(200);
    expect((await request(prod.getHttpServer()).get('/cluster')).status).toBe(401);
    const reader = await request(prod.getHttpServer())
      .get('/cluster')
      .set('Authorization', `Bearer ${token('cluster:read')}`);
    expect(reader.status).toBe(200);
  });
});
