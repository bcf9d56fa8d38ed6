import { UseFilters, UseInterceptors, UsePipes, applyDecorators } from '@nestjs/common';
import { WebSocketGateway } from '@nestjs/websockets';
import { createValidationPipe } from './validation';
import { WsErrorFilter } from './ws-error.filter';
import { WsReplyInterceptor } from './ws-reply.interceptor';

export const WS_PATH = '/ws';

/**
 * Every gateway's decorator: the shared `/ws` path, validated DTOs, replies correlated by `ref`, and
 * errors as `error` frames. Global pipes and filters do not reach gateways in a hybrid app.
 */
export function WsGateway(): ClassDecorator {
  return applyDecorators(
    WebSocketGateway({ path: WS_PATH }),
    UseFilters(WsErrorFilter),
    UsePipes(createValidationPipe()),
    UseInterceptors(WsReplyInterceptor),
  );
}
