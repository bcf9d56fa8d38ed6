import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config';
import { censor, REDACT_PATHS, redactLogArgs, redactUrl, serializeError } from './redaction';
import { requestId } from './request-id';

/** Scraped and probed every few seconds: not worth a log line each. */
const QUIET_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Pino under the Nest logger: JSON in production (and tests), pretty in development. Every line
 * logged while serving a request carries its `requestId`; WebSocket lines carry `connectionId`
 * (the hub and filters log it). Credentials are redacted everywhere: headers, token fields, the
 * `access_token` query parameter of any logged URL, and tokens inside messages and errors.
 */
export function loggerOptions(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      base: { replica: config.replicaId },
      genReqId: requestId,
      // Lines inside a request get `requestId` only; the completion line adds `req` and `res`.
      quietReqLogger: true,
      customAttributeKeys: { reqId: 'requestId' },
      redact: { paths: REDACT_PATHS, censor },
      serializers: {
        req: (req: { method: string; url: string }) => ({
          method: req.method,
          url: redactUrl(req.url),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
        err: serializeError,
      },
      hooks: {
        logMethod(args, method) {
          redactLogArgs(args);
          method.apply(this, args);
        },
      },
      autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.test(req.url ?? '') },
      ...(config.env === 'development' && {
        transport: {
          target: 'pino-pretty',
          options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' },
        },
      }),
    },
  };
}
