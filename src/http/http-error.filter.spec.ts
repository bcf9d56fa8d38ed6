import { Controller, Get, NotFoundException, Param, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppError, type ErrorCode } from '@app/core';
import request from 'supertest';
import { HttpErrorFilter } from './http-error.filter';

@Controller()
class ThrowingController {
  @Get('app-error/:code')
  appError(@Param('code') code: ErrorCode) {
    throw new AppError(code, `failed with ${code}`, code === 'bad_request' ? FIELDS : undefined, {
      ...(code === 'overloaded' && { retryAfterMs: 1500 }),
    });
  }

  @Get('nest')
  nest() {
    throw new NotFoundException('no such thing');
  }

  @Get('bug')
  bug() {
    throw new Error('a secret detail of ours');
  }
}

const FIELDS = [{ field: 'room', message: 'room must be 1-128 of A-Za-z0-9._:-' }];

describe(HttpErrorFilter.name, () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [ThrowingController],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    app.useGlobalFilters(new HttpErrorFilter());
    await app.init();
  });
  afterAll(() => app.close());

  it.each([
    ['bad_request', 400],
    ['unauthorized', 401],
    ['forbidden', 403],
    ['not_found', 404],
    ['rate_limited', 429],
    ['limit_exceeded', 429],
    ['unavailable', 503],
    ['overloaded', 503],
    ['internal', 500],
  ])('answers AppError %s with %i and {code, message}', async (code, status) => {
    const res = await request(app.getHttpServer()).get(`/app-error/${code}`);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ code, message: `failed with ${code}` });
  });

  it('lists the fields of a bad_request', async () => {
    const res = await request(app.getHttpServer()).get('/app-error/bad_request');
    expect(res.body.fields).toEqual(FIELDS);
  });

  it('tells an overloaded caller when to retry, in the header and the body', async () => {
    const res = await request(app.getHttpServer()).get('/app-error/overloaded');
    expect(res.headers['retry-after']).toBe('2');
    expect(res.body.retryAfterMs).toBe(1500);
  });

  it("maps Nest's own exceptions to the contract's codes", async () => {
    const res = await request(app.getHttpServer()).get('/nest');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ code: 'not_found', message: 'no such thing' });
  });

  it('answers an unknown error with 500 internal and tells nothing of it', async () => {
    const res = await request(app.getHttpServer()).get('/bug');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ code: 'internal', message: 'internal error' });
  });
});
