import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** 200 of `POST /auth/dev-token`. */
export class DevTokenReplyDto {
  @ApiProperty({ example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl' })
  token!: string;

  @ApiProperty({ example: 'alice' })
  userId!: string;

  @ApiProperty({ enum: [true], example: true })
  development!: true;
}

/** One replica of the cluster view, as its last heartbeat reported it. */
export class ReplicaViewDto {
  @ApiProperty({ example: '6f1c2b9e-3d4a-4e0f-9a8b-1c2d3e4f5a6b', description: 'Process run id' })
  instance!: string;

  @ApiProperty({ example: 'replica-1', description: 'REPLICA_ID' })
  replica!: string;

  @ApiProperty({ example: true, description: 'The replica that answered' })
  self!: boolean;

  @ApiProperty({ example: 1733400000000, description: 'When it reported, in ms since the epoch' })
  reportedAt!: number;

  @ApiPropertyOptional({ example: 12 })
  connections?: number;

  @ApiPropertyOptional({ example: 30 })
  channels?: number;

  @ApiPropertyOptional({ example: 1500, description: 'Cumulative' })
  framesIn?: number;

  @ApiPropertyOptional({ example: 4200, description: 'Cumulative' })
  framesOut?: number;

  @ApiPropertyOptional({ example: 9000, description: 'Cumulative' })
  deliveries?: number;
}

/** 200 of `GET /cluster`. */
export class ClusterViewDto {
  @ApiProperty({ example: true, description: 'Whether the development key is in use' })
  development!: boolean;

  @ApiProperty({ type: [ReplicaViewDto] })
  replicas!: ReplicaViewDto[];
}
