import { Test } from '@nestjs/testing';
import { DiscoveryModule } from '@nestjs/core';
import { MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { WsDispatcher } from './ws-dispatcher';
import { WsGateway } from './ws-gateway.decorator';
import { WsMetrics } from './ws-metrics';

@WsGateway()
class PingGateway {
  @SubscribeMessage('test.ping')
  ping(@MessageBody('n') n: number): { n: number } {
    return { n };
  }
}

@WsGateway()
class OtherPingGateway {
  @SubscribeMessage('test.ping')
  ping(): object {
    return {};
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

describe(WsDispatcher.name, () => {
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
});
