import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type WsExceptionFilter,
} from '@nestjs/common';
import { AppError } from '@app/core';
import type { Connection } from './connection';
import { errorData, refOf, type ServerEvents } from './frames';

/** The frame a gateway's exception filter returns; `WsDispatcher` sends it. */
export interface ErrorFrame {
  event: 'error';
  data: ServerEvents['error'];
}

/**
 * Turns anything a handler throws into an `error` frame, which it returns for the dispatcher to
 * send (gateways run in Nest's external context, where a filter's result is the handler's). The
 * socket stays open.
 */
@Catch()
export class WsErrorFilter implements WsExceptionFilter {
  private readonly logger = new Logger(WsErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): ErrorFrame {
    const ws = host.switchToWs();
    const conn = ws.getClient<Connection>();
    const ref = refOf(ws.getData());
    const error = this.toAppError(exception, conn);
    return { event: 'error', data: errorData(error, ref) };
  }

  private toAppError(exception: unknown, conn: Connection): AppError {
    if (exception instanceof AppError) return exception;
    if (exception instanceof HttpException && exception.getStatus() === 403) {
      return new AppError('forbidden', exception.message);
    }
    // Unknown errors are ours: log once, with the stack, and tell the client nothing internal.
    this.logger.error(
      { connectionId: conn.id, err: exception },
      exception instanceof Error ? exception.stack : String(exception),
    );
    return new AppError('internal', 'internal error');
  }
}
