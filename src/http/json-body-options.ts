import type { IncomingMessage } from 'node:http';
import type { NestExpressBodyParserOptions } from '@nestjs/platform-express';
import { AppError } from '@app/core';
import { BadInputLog, exceedsJsonDepth, jsonDepthMessage, type WsMetrics } from '@app/ws';

const badInput = new BadInputLog('HttpBody');

/** body-parser's `verify` hook: runs on the raw bytes before they are parsed; a throw refuses. */
type BodyVerifier = (request: IncomingMessage, response: unknown, body: Buffer) => void;

/**
 * Options of the JSON body parser: the size limit, and the depth limit checked on the raw bytes
 * before `JSON.parse`, so a deeply nested body costs no more than its length and never reaches the
 * validation pipe. The AppError thrown here reaches `HttpErrorFilter` (body-parser passes it on).
 */
export function jsonBodyOptions(
  limitBytes: number,
  maxDepth: number,
  metrics: WsMetrics,
): NestExpressBodyParserOptions & { verify: BodyVerifier } {
  const verify: BodyVerifier = (request, _response, body) => {
    if (!exceedsJsonDepth(body, maxDepth)) return;
    metrics.tooDeepRefusals.inc();
    const remote = request.socket.remoteAddress ?? 'unknown';
    const reason = jsonDepthMessage(maxDepth);
    badInput.note(remote, { remote, path: request.url?.split('?')[0], reason });
    throw new AppError('bad_request', reason);
  };
  // Nest's typing leaves `verify` out (it sets its own only with `rawBody: true`, unused here).
  return { limit: limitBytes, verify };
}
