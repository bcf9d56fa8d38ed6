import { ApiProperty } from '@nestjs/swagger';
import type { RelayState } from '@app/relay';

/** 200 of `GET /health/live`. */
export class LivenessDto {
  @ApiProperty({ enum: ['ok'], example: 'ok' })
  status!: 'ok';
}

/** `GET /health/ready`: the same body with 200 (serving) and 503 (not). */
export class ReadinessDto {
  @ApiProperty({ enum: ['ready', 'unavailable'], example: 'ready' })
  status!: 'ready' | 'unavailable';

  @ApiProperty({ example: false, description: 'SIGTERM received: closing connections' })
  draining!: boolean;

  @ApiProperty({
    enum: ['connected', 'reconnecting', 'closed'],
    example: 'connected',
    description: 'The NATS connection (always `connected` in embedded mode)',
  })
  broker!: RelayState;

  @ApiProperty({ example: 12, description: 'Open WebSocket connections on this replica' })
  connections!: number;
}
