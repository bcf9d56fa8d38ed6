import { Catch, Logger, type ArgumentsHost, type RpcExceptionFilter } from '@nestjs/common';
import { AppError } from '@app/core';
import { EMPTY, throwError, type Observable } from 'rxjs';
import { natsBadInput } from './nats-bad-input';

/** The error a request/reply caller receives: the contract's codes, as over HTTP and WebSocket. */
export interface RpcErrorBody {
  code: string;
  message: string;
  fields?: AppError['fields'];
}

function toBody(exception: unknown, logger: Logger): RpcErrorBody {
  if (exception instanceof AppError) {
    return {
      code: exception.code,
      message: exception.message,
      ...(exception.fields && { fields: exception.fields }),
    };
  }
  logger.error(
    { err: exception },
    exception instanceof Error ? exception.stack : String(exception),
  );
  return { code: 'internal', message: 'internal error' };
}

/** Request/reply handlers: the caller gets `{code, message, fields?}` as the error. */
@Catch()
export class RpcReplyErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger(RpcReplyErrorFilter.name);

  catch(exception: unknown): Observable<never> {
    const body = toBody(exception, this.logger);
    return throwError(() => body);
  }
}

/**
 * Event handlers have nobody to answer: log and complete. An erroring observable here would reach
 * Nest's connectable with no subscriber, and rxjs rethrows that asynchronously (a crash).
 */
@Catch()
export class RpcEventErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger(RpcEventErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): Observable<never> {
    const body = toBody(exception, this.logger);
    const subject = host.switchToRpc().getContext<{ getSubject?: () => string }>().getSubject?.();
    // Logged at most once a minute per subject: a flood of bad events must not flood the log.
    if (body.code !== 'internal') natsBadInput.note(subject ?? '', { subject, ...body });
    return EMPTY;
  }
}
