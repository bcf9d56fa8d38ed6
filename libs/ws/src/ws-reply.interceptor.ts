import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { refOf } from './frames';

/** Wraps a handler's plain result as `{"event":"reply","data":{ref, ...result}}`. */
@Injectable()
export class WsReplyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<unknown>): Observable<unknown> {
    const ref = refOf(context.switchToWs().getData());
    return next.handle().pipe(
      map((result) => ({
        event: 'reply',
        data: { ...(ref !== undefined && { ref }), ...(result as object | undefined) },
      })),
    );
  }
}
