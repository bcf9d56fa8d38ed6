import {
  Catch,
  HttpException,
  HttpStatus,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import { AppError, type ErrorCode } from '@app/core';
import type { Response } from 'express';

const STATUS: Record<ErrorCode, number> = {
  bad_request: HttpStatus.BAD_REQUEST,
  unauthorized: HttpStatus.UNAUTHORIZED,
  forbidden: HttpStatus.FORBIDDEN,
  not_found: HttpStatus.NOT_FOUND,
  rate_limited: HttpStatus.TOO_MANY_REQUESTS,
  limit_exceeded: HttpStatus.TOO_MANY_REQUESTS,
  unavailable: HttpStatus.SERVICE_UNAVAILABLE,
  overloaded: HttpStatus.SERVICE_UNAVAILABLE,
  internal: HttpStatus.INTERNAL_SERVER_ERROR,
};

/** For Nest's and body-parser's own errors: the first code of each status. */
const CODE_OF_STATUS = new Map<number, ErrorCode>(
  Object.entries(STATUS)
    .reverse()
    .map(([code, status]) => [status, code as ErrorCode]),
);

/** HTTP errors as `{code, message, fields?}` with the contract's codes. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger(HttpErrorFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (exception instanceof AppError) {
      if (exception.retryAfterMs !== undefined) {
        response.setHeader('Retry-After', Math.max(1, Math.ceil(exception.retryAfterMs / 1000)));
      }
      response.status(STATUS[exception.code]).json({
        code: exception.code,
        message: exception.message,
        ...(exception.fields && { fields: exception.fields }),
        ...(exception.retryAfterMs !== undefined && { retryAfterMs: exception.retryAfterMs }),
      });
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code = CODE_OF_STATUS.get(status) ?? (status < 500 ? 'bad_request' : 'internal');
      response.status(status).json({ code, message: exception.message });
      return;
    }
    if (isClientError(exception)) {
      // body-parser's own errors (413 too large, 400 malformed JSON) carry their status.
      const code = CODE_OF_STATUS.get(exception.status) ?? 'bad_request';
      response.status(exception.status).json({ code, message: exception.message });
      return;
    }
    this.logger.error(
      { err: exception },
      exception instanceof Error ? exception.stack : String(exception),
    );
    response.status(500).json({ code: 'internal', message: 'internal error' });
  }
}

/** An error meant for the client (http-errors' `expose`), such as body-parser's. */
function isClientError(error: unknown): error is Error & { status: number } {
  const { status, expose } = error as { status?: unknown; expose?: unknown };
  return (
    error instanceof Error &&
    expose === true &&
    typeof status === 'number' &&
    status >= 400 &&
    status < 500
  );
}
