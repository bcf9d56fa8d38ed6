import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Relay } from '@app/relay';
import { WsHub } from '@app/ws';
import type { Response } from 'express';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly hub: WsHub,
    private readonly relay: Relay,
  ) {}

  @Get('live')
  @ApiOperation({ summary: '200 while the process runs' })
  live() {
    return { status: 'ok' };
  }

  /** What a load balancer polls: a draining or broker-less replica must get no new clients. */
  @Get('ready')
  @ApiOperation({ summary: '200 while serving; 503 while draining or disconnected from NATS' })
  @ApiResponse({
    status: 200,
    schema: { example: { status: 'ready', draining: false, broker: 'connected', connections: 12 } },
  })
  @ApiResponse({
    status: 503,
    schema: {
      example: { status: 'unavailable', draining: true, broker: 'connected', connections: 3 },
    },
  })
  ready(@Res({ passthrough: true }) response: Response) {
    const broker = this.relay.state;
    const ready = !this.hub.draining && broker === 'connected';
    response.status(ready ? 200 : 503);
    return {
      status: ready ? 'ready' : 'unavailable',
      draining: this.hub.draining,
      broker,
      connections: this.hub.size,
    };
  }
}
