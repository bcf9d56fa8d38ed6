import { UseGuards } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage } from '@nestjs/websockets';
import { type Connection, SignedInGuard, WsGateway, WsHub } from '@app/ws';
import { TokenService } from '../auth';
import { AuthRefreshDto } from './dto/auth-refresh.dto';

/** Events about the connection itself. */
@WsGateway()
export class ConnectionGateway {
  constructor(
    private readonly tokens: TokenService,
    private readonly hub: WsHub,
  ) {}

  /**
   * A newer token for the same user moves the connection's expiry (else it closes with 4001), and
   * its rights apply at once: rooms it no longer covers are left (`chat.removed`) before the reply.
   */
  @SubscribeMessage('auth.refresh')
  @UseGuards(SignedInGuard)
  async refresh(@ConnectedSocket() conn: Connection, @MessageBody() { token }: AuthRefreshDto) {
    const user = this.tokens.verify(token);
    await this.hub.refreshUser(conn, user);
    return { userId: user.id, expiresAt: user.expiresAt ?? null };
  }

  /**
   * An application-level ping: browsers cannot see WebSocket pings, so a client that wants to
   * detect a half-open connection sooner than TCP does asks and times the reply.
   */
  @SubscribeMessage('ping')
  ping() {
    return { ts: Date.now() };
  }
}
