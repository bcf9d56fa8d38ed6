import { Controller, Get, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Relay } from '@app/relay';
import { WsHub } from '@app/ws';
import type { Response } from 'express';
import { LivenessDto, ReadinessDto } from './dto/health.dto';

@ApiTags('operations')
@Controller('health')
export class HealthController {
  constructor(
    private readonly hub: WsHub,
    private readonly relay: Relay,
  ) {}

  @Get('live')
  @ApiOperation({ summary: '200 while the process runs', security: [] })
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok' };
  }

  /** What a load balancer polls: a draining or broker-less replica must get no new clients. */
  @Get('ready')
  @ApiOperation({
    summary: '200 while serving; 503 while draining or disconnected from NATS',
    security: [],
  })
  @ApiOkResponse({ type: ReadinessDto, description: 'Serving' })
  @ApiServiceUnavailableResponse({ type: ReadinessDto, description: 'Draining or broker-less' })
  ready(@Res({ passthrough: true }) response: Response): ReadinessDto {
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
