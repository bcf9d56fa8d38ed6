import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Post,
  UseGuards,
} from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OpenInDevelopment, Scope, Scopes, ScopesGuard, TokenService } from '../auth';
import { AppConfig } from '../config';
import { ApiErrors } from '../http/openapi/api-errors.decorator';
import { ErrorBodyDto } from '../http/openapi/error-body.dto';
import { ClusterMembership } from '../cluster';
import { ClusterViewDto, DevTokenReplyDto } from './dto/console-replies.dto';
import { DevTokenDto } from './dto/dev-token.dto';

/** What the console page at `/` asks of the service. */
@ApiTags('console')
@Controller()
export class ConsoleController {
  constructor(
    private readonly tokens: TokenService,
    private readonly config: AppConfig,
    private readonly cluster: ClusterMembership,
  ) {}

  /** Exists only with the development key: anyone could otherwise mint tokens. */
  @Post('auth/dev-token')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Development only: a 1 h token for any user (404 with a real key or in production)',
    security: [],
  })
  @ApiOkResponse({ type: DevTokenReplyDto })
  @ApiNotFoundResponse({
    type: ErrorBodyDto,
    description: 'A key is configured or NODE_ENV=production',
  })
  @ApiErrors(400)
  devToken(@Body() { userId, scopes }: DevTokenDto): DevTokenReplyDto {
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
    description:
      'Open in development; with NODE_ENV=production it needs a bearer token with the `cluster:read` scope.',
    // The empty requirement is development's: no token.
    security: [{ bearer: [] }, {}],
  })
  @ApiOkResponse({ type: ClusterViewDto })
  @ApiErrors(401, 403)
  async clusterView(): Promise<ClusterViewDto> {
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
