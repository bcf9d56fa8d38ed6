import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { refOf, type Ref, type ServerEvents } from './frames';

/** The frame a handler's reply interceptor yields; `WsDispatcher` sends it. */
export interface ReplyFrame {
  event: 'reply';
  data: ServerEvents['reply'];
}

/** A handler's plain result as its `reply` frame, answering the request's `ref`. */
export function replyFrame(ref: Ref | undefined, result: unknown): ReplyFrame {
  return {
    event: 'reply',
    data: { ...(ref !== undefined && { ref }), ...(result as object | undefined) },
  };
}

/** Wraps a handler's plain result as `{"event":"reply","data":{ref, ...result}}`. */
@Injectable()
export class WsReplyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<unknown>): Observable<unknown> {
    const ref = refOf(context.switchToWs().getData());
    return next.handle().pipe(map((result) => replyFrame(ref, result)));
  }
}
