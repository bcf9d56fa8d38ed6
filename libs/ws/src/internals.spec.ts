import { readdirSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { APP_INTERCEPTOR, DiscoveryModule } from '@nestjs/core';
import { Injectable, Logger, type CallHandler, type NestInterceptor } from '@nestjs/common';
import { MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { openWsPair, type WsPair } from '@app/testing';
import type { WebSocket } from 'ws';
import { Connection } from './connection';
import {
  ExternalContextCreator,
  GATEWAY_METADATA,
  MESSAGE_MAPPING_METADATA,
  MESSAGE_METADATA,
  PARAM_ARGS_METADATA,
  WsParamtype,
  globalEnhancers,
  rawSocketOf,
  wsArgumentsHost,
} from './internals';
import { WireFrame } from './wire-frame';
import { WsDispatcher } from './ws-dispatcher';
import { WsGateway } from './ws-gateway.decorator';
import { WsMetrics } from './ws-metrics';

/**
 * Fails when a fast path of internals.ts is no longer taken (after a Nest or `ws` upgrade): each
 * has a fallback that would otherwise keep every other test green, only slower.
 */
describe('internals (Nest and ws private parts)', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  describe('ws', () => {
    let pair: WsPair;
    let client: WebSocket;
    let accepted: WebSocket;

    beforeEach(async () => {
      pair = await openWsPair();
      ({ client, accepted } = pair);
    });

    afterEach(() => pair.close());

    it('finds the TCP socket under a real connection', () => {
      expect(rawSocketOf(accepted)).toBeInstanceOf(Socket);
    });

    it('sendWire writes the pre-framed bytes to that socket, not through ws.send', async () => {
      const conn = new Connection(accepted, null, {
        maxBufferedBytes: 1 << 20,
        rate: { perSecond: 1, burst: 1 },
      });
      const write = jest.spyOn(rawSocketOf(accepted)!, 'write');
      const send = jest.spyOn(accepted, 'send');
      const received = new Promise<string>((resolve) =>
        client.once('message', (data) => resolve((data as Buffer).toString())),
      );
      const frame = new WireFrame(Buffer.from('{"event":"x",'), Buffer.from('"data":{}}'));
      expect(conn.sendWire(frame)).toBe(true);
      expect(write).toHaveBeenCalledWith(frame.bytes);
      expect(send).not.toHaveBeenCalled();
      expect(await received).toBe('{"event":"x","data":{}}');
    });
  });

  describe('Nest', () => {
    it('resolves the deep imports the dispatcher reads', () => {
      expect(typeof ExternalContextCreator.prototype.create).toBe('function');
      for (const key of [
        GATEWAY_METADATA,
        MESSAGE_MAPPING_METADATA,
        MESSAGE_METADATA,
        PARAM_ARGS_METADATA,
      ]) {
        expect(typeof key).toBe('string');
      }
      expect(typeof WsParamtype.SOCKET).toBe('number');
      expect(typeof WsParamtype.PAYLOAD).toBe('number');
      const host = wsArgumentsHost(['conn', { ref: 1 }, 'e']).switchToWs();
      expect([host.getClient(), host.getData()]).toEqual(['conn', { ref: 1 }]);
    });

    @WsGateway()
    class EchoGateway {
      @SubscribeMessage('test.echo')
      echo(@MessageBody() data: object): object {
        return data;
      }
    }

    @Injectable()
    class PassInterceptor implements NestInterceptor {
      intercept(_: unknown, next: CallHandler): ReturnType<CallHandler['handle']> {
        return next.handle();
      }
    }

    /** The options `WsDispatcher` wrapped `test.echo` with, and the global interceptors it saw. */
    async function wrapping(globalInterceptor: boolean): Promise<[unknown, number | undefined]> {
      const create = jest.spyOn(ExternalContextCreator.prototype, 'create');
      const moduleRef = await Test.createTestingModule({
        imports: [DiscoveryModule],
        providers: [
          WsMetrics,
          WsDispatcher,
          EchoGateway,
          ...(globalInterceptor ? [{ provide: APP_INTERCEPTOR, useClass: PassInterceptor }] : []),
        ],
      }).compile();
      await moduleRef.init();
      const options = create.mock.calls.find(([, , method]) => method === 'echo')?.[7];
      const count = globalEnhancers(moduleRef.get(ExternalContextCreator))?.interceptors;
      create.mockRestore();
      await moduleRef.close();
      return [options, count];
    }

    it('reads the global interceptors, so a @WsGateway() handler skips the interceptor chain', async () => {
      expect(await wrapping(false)).toEqual([
        { guards: true, interceptors: false, filters: false },
        0,
      ]);
    });

    it('gives a handler Nest’s whole pipeline when there is a global interceptor', async () => {
      expect(await wrapping(true)).toEqual([undefined, 1]);
    });
  });

  it('are the only place in @app/ws that reaches into Nest’s or ws’s private parts', () => {
    const offenders = readdirSync(__dirname)
      .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
      .filter((file) => file !== 'internals.ts')
      .filter((file) => {
        const source = readFileSync(join(__dirname, file), 'utf8');
        return /from '@nestjs\/[\w-]+\/|_socket\b/.test(source);
      });
    expect(offenders).toEqual([]);
  });
});
