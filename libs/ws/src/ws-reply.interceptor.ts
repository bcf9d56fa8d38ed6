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

const REPLY_HEAD = '{"event":"reply","data":';

/**
 * `JSON.stringify(replyFrame(ref, result))` without building the frame: the result is serialized
 * once and the ref spliced in front. Results it cannot splice with the same output (not a plain
 * object, a key `ref`, or an integer-like key, which the spread would order first) take the
 * frame.
 */
export function encodeReply(ref: Ref | undefined, result: unknown): string {
  if (!isSpliceable(result)) return JSON.stringify(replyFrame(ref, result));
  const body = JSON.stringify(result);
  if (ref === undefined) return `${REPLY_HEAD}${body}}`;
  const head = `${REPLY_HEAD}{"ref":${JSON.stringify(ref)}`;
  return body === '{}' ? `${head}}}` : `${head},${body.slice(1)}}`;
}

function isSpliceable(result: unknown): result is object {
  if (typeof result !== 'object' || result === null) return false;
  if (Object.getPrototypeOf(result) !== Object.prototype) return false;
  for (const key in result) {
    const first = key.charCodeAt(0);
    if (key === 'ref' || key === 'toJSON' || (first >= 0x30 && first <= 0x39)) return false;
  }
  return true;
}

/** Wraps a handler's plain result as `{"event":"reply","data":{ref, ...result}}`. */
@Injectable()
export class WsReplyInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler<unknown>): Observable<unknown> {
    const ref = refOf(context.switchToWs().getData());
    return next.handle().pipe(map((result) => replyFrame(ref, result)));
  }
}
