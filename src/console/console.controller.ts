import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Post,
  UseGuards,
} from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { OpenInDevelopment, Scope, Scopes, ScopesGuard, TokenService } from '../auth';
import { AppConfig } from '../config';
import { PresenceCluster } from '../presence/presence-cluster';
import { DevTokenDto } from './dto/dev-token.dto';

/** What the console page at `/` asks of the service. */
@ApiTags('console')
@Controller()
export class ConsoleController {
  constructor(
    private readonly tokens: TokenService,
    private readonly config: AppConfig,
    private readonly cluster: PresenceCluster,
  ) {}

  /** Exists only with the development key: anyone could otherwise mint tokens. */
  @Post('auth/dev-token')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Development only: a 1 h token for any user (404 with a real key or in production)',
  })
  @ApiResponse({
    status: 200,
    schema: { example: { token: 'eyJ…', userId: 'alice', development: true } },
  })
  @ApiResponse({ status: 404, description: 'A key is configured or NODE_ENV=production' })
  devToken(@Body() { userId, scopes }: DevTokenDto) {
    if (!this.developmentMode) throw new NotFoundException();
    return { token: this.tokens.sign(userId, { scopes, ttl: '1h' }), userId, development: true };
  }

  /** The replicas alive in the cluster and their figures, from their heartbeats. */
  @Get('cluster')
  @UseGuards(ScopesGuard)
  @Scopes(Scope.ClusterRead)
  @OpenInDevelopment()
  @ApiOperation({
    summary: 'Replicas, their connections, channels and message rates (cluster:read in production)',
  })
  async clusterView() {
    const members = await this.cluster.members();
    return {
      development: this.developmentMode,
      replicas: members.map(({ instance, replica, self, stats, at }) => ({
        instance,
        replica,
        self,
        reportedAt: at,
        ...stats,
      })),
    };
  }

  private get developmentMode(): boolean {
    return this.tokens.developmentKey && this.config.env !== 'production';
  }
}
