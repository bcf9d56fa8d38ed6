import { Test } from '@nestjs/testing';
import { DiscoveryModule } from '@nestjs/core';
import {
  Injectable,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { IsDefined, IsInt } from 'class-validator';
import { AppError } from '@app/core';
import type { Observable } from 'rxjs';
import type { Connection } from './connection';
import { SignedInGuard } from './signed-in.guard';
import { CompiledValidationPipe } from './validation';
import { IsStringOrObject } from './validators';
import { WsDispatcher } from './ws-dispatcher';
import { WsGateway } from './ws-gateway.decorator';
import { WsMetrics } from './ws-metrics';
import { WsReplyInterceptor } from './ws-reply.interceptor';
import { WsRequest } from './ws-request.dto';

class EchoDto extends WsRequest {
  @IsInt() n!: number;
  @IsDefined() @IsStringOrObject() body!: unknown;
}

@WsGateway()
class PingGateway {
  @SubscribeMessage('test.ping')
  ping(@MessageBody('n') n: number): { n: number } {
    return { n };
  }

  @SubscribeMessage('test.echo')
  @UseGuards(SignedInGuard)
  echo(@ConnectedSocket() conn: Connection, @MessageBody() dto: EchoDto): object {
    if (dto.n < 0) throw new AppError('bad_request', 'n must not be negative');
    return { n: dto.n, body: dto.body, user: conn.userId, isDto: dto instanceof EchoDto };
  }
}

@WsGateway()
class OtherPingGateway {
  @SubscribeMessage('test.ping')
  ping(): object {
    return {};
  }
}

@Injectable()
class TagInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle();
  }
}

/** A gateway with an interceptor of its own: Nest's whole pipeline runs it. */
@WsGateway()
class TaggedGateway {
  @SubscribeMessage('test.tagged')
  @UseInterceptors(TagInterceptor)
  tagged(@MessageBody() dto: EchoDto): object {
    return { n: dto.n };
  }
}

async function boot(...gateways: Array<new () => object>): Promise<WsDispatcher> {
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [WsMetrics, WsDispatcher, ...gateways],
  }).compile();
  await moduleRef.init();
  return moduleRef.get(WsDispatcher);
}

interface Frame {
  event: string;
  data: Record<string, unknown>;
}

/** Dispatches one request and resolves with the frame the connection is sent. */
function answer(sut: WsDispatcher, event: string, data: object, userId = 'ann'): Promise<Frame> {
  return new Promise((resolve) => {
    const conn = {
      id: 'c1',
      user: userId ? { id: userId } : null,
      userId: userId || null,
      requestStarted: () => undefined,
      requestAnswered: () => undefined,
      sendFrame: (frame: string) => {
        resolve(JSON.parse(frame) as Frame);
        return true;
      },
      send: (name: string, payload: Record<string, unknown>) => {
        resolve({ event: name, data: payload });
        return true;
      },
    } as unknown as Connection;
    sut.dispatch(conn, event, data);
  });
}

describe(WsDispatcher.name, () => {
  afterEach(() => jest.restoreAllMocks());

  it('knows the events of every gateway, and only those', async () => {
    const dispatcher = await boot(PingGateway);
    expect(dispatcher.handles('test.ping')).toBe(true);
    expect(dispatcher.handles('test.pong')).toBe(false);
  });

  it('refuses to start when two gateways handle one event', async () => {
    await expect(boot(PingGateway, OtherPingGateway)).rejects.toThrow(
      'WebSocket event "test.ping" has two handlers: PingGateway.ping and OtherPingGateway.ping',
    );
  });

  describe('a @WsGateway() handler (fast path: no Nest interceptor chain per frame)', () => {
    it('replies with the ref, a validated DTO and the body as it came', async () => {
      const intercept = jest.spyOn(WsReplyInterceptor.prototype, 'intercept');
      const sut = await boot(PingGateway);
      const body = JSON.parse('{"__proto__":{"x":1},"deep":{"a":[1]}}') as object;
      const frame = await answer(sut, 'test.echo', { n: 3, body, ref: 'r1' });
      expect(frame).toEqual({
        event: 'reply',
        data: { ref: 'r1', n: 3, body: JSON.parse(JSON.stringify(body)), user: 'ann', isDto: true },
      });
      expect(JSON.stringify(frame.data.body)).toBe('{"__proto__":{"x":1},"deep":{"a":[1]}}');
      // The fast path makes the reply itself: the interceptor is not run per frame.
      expect(intercept).not.toHaveBeenCalled();
    });

    it('calls a handler of the common shape directly: its guard once, no Nest pipe', async () => {
      const pipe = jest.spyOn(CompiledValidationPipe.prototype, 'transform');
      const guard = jest.spyOn(SignedInGuard.prototype, 'canActivate');
      const sut = await boot(PingGateway);
      const frame = await answer(sut, 'test.echo', { n: 3, body: 'b', ref: 'r1' });
      expect(frame.data).toMatchObject({ ref: 'r1', n: 3, isDto: true });
      expect(guard).toHaveBeenCalledTimes(1);
      expect(pipe).not.toHaveBeenCalled();
      // `@MessageBody('n')` is not the common shape: Nest's guards and pipes run.
      expect((await answer(sut, 'test.ping', { n: 4, ref: 'r2' })).data).toEqual({
        ref: 'r2',
        n: 4,
      });
      expect(pipe).toHaveBeenCalled();
    });

    it('gives an invalid body and a refused guard Nest’s pipeline, with its errors', async () => {
      const pipe = jest.spyOn(CompiledValidationPipe.prototype, 'transform');
      const guard = jest.spyOn(SignedInGuard.prototype, 'canActivate');
      const sut = await boot(PingGateway);
      expect((await answer(sut, 'test.echo', { n: 1.5, body: 'b', ref: 1 })).data).toMatchObject({
        code: 'bad_request',
      });
      expect(pipe).toHaveBeenCalled();
      guard.mockClear();
      expect((await answer(sut, 'test.echo', { n: 1, body: 'b' }, '')).data).toMatchObject({
        code: 'unauthorized',
      });
      // Once refused on the direct path, once by Nest's pipeline, which gives the error.
      expect(guard).toHaveBeenCalledTimes(2);
    });

    it('answers a thrown AppError, a refused guard and invalid fields with error frames', async () => {
      const sut = await boot(PingGateway);
      expect(await answer(sut, 'test.echo', { n: -1, body: 'x', ref: 2 })).toEqual({
        event: 'error',
        data: { ref: 2, code: 'bad_request', message: 'n must not be negative' },
      });
      expect((await answer(sut, 'test.echo', { n: 1, body: 'x', ref: 3 }, '')).data).toMatchObject({
        ref: 3,
        code: 'unauthorized',
      });
      const invalid = await answer(sut, 'test.echo', { n: 1.5, body: [1], extra: 1, ref: 4 });
      expect(invalid.data).toMatchObject({
        ref: 4,
        code: 'bad_request',
        message: 'invalid fields: extra, n, body',
      });
    });
  });

  it('runs Nest’s whole pipeline for a handler with an interceptor of its own', async () => {
    const intercept = jest.spyOn(WsReplyInterceptor.prototype, 'intercept');
    const sut = await boot(TaggedGateway);
    expect(await answer(sut, 'test.tagged', { n: 5, body: 'b', ref: 9 })).toEqual({
      event: 'reply',
      data: { ref: 9, n: 5 },
    });
    expect((await answer(sut, 'test.tagged', { n: 'x', body: 'b', ref: 10 })).data).toMatchObject({
      ref: 10,
      code: 'bad_request',
    });
    expect(intercept).toHaveBeenCalled();
  });
});
