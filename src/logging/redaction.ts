import { stdSerializers } from 'pino';

export const REDACTED = '[redacted]';

/** Query parameters that carry credentials: the WebSocket upgrade takes `access_token`. */
const SECRET_PARAMS = new Set(['access_token', 'token', 'id_token', 'refresh_token']);
const SECRET_PARAMS_IN_TEXT = /(\b(?:access_token|token|id_token|refresh_token)=)[^&#\s"']*/gi;
const BEARER_IN_TEXT = /(bearer\s+)[^\s"',]+/gi;
const JWT_IN_TEXT = /eyJ[\w-]*\.[\w-]+\.[\w-]*/g;
/** `scheme://user:pass@host` or `scheme://token@host`: NATS_URL may carry credentials. */
const USERINFO_IN_TEXT = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;

/**
 * Fields that hold credentials wherever they appear, one level deep (pino's redact paths). `url`
 * fields are not blanked: `censor` keeps the URL and redacts its credential parameters only.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
  'authorization',
  '*.authorization',
  'cookie',
  '*.cookie',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'password',
  '*.password',
  'pass',
  '*.pass',
  'url',
  '*.url',
  'originalUrl',
  '*.originalUrl',
];

export function censor(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1];
  if ((key === 'url' || key === 'originalUrl') && typeof value === 'string')
    return redactUrl(value);
  return REDACTED;
}

/** `url` with its userinfo and every credential query parameter value replaced; the rest as it was. */
export function redactUrl(rawUrl: string): string {
  const url = redactUserinfo(rawUrl);
  const query = url.indexOf('?');
  if (query < 0) return url;
  let changed = false;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      const name = eq < 0 ? param : param.slice(0, eq);
      if (!SECRET_PARAMS.has(decodeName(name).toLowerCase())) return param;
      changed = true;
      return `${name}=${REDACTED}`;
    });
  return changed ? `${url.slice(0, query)}?${params.join('&')}` : url;
}

/** Credentials inside free text (messages, error messages and stacks): query values, bearer tokens, JWTs. */
export function redactText(text: string): string {
  let out = text;
  // Cheap tests first: nearly every line has nothing to redact.
  if (out.includes('token=')) out = out.replace(SECRET_PARAMS_IN_TEXT, `$1${REDACTED}`);
  if (/bearer/i.test(out)) out = out.replace(BEARER_IN_TEXT, `$1${REDACTED}`);
  if (out.includes('eyJ')) out = out.replace(JWT_IN_TEXT, REDACTED);
  return redactUserinfo(out);
}

function redactUserinfo(text: string): string {
  if (!text.includes('@') || !text.includes('://')) return text;
  return text.replace(USERINFO_IN_TEXT, `$1${REDACTED}@`);
}

/** Redacts the message strings of a log call (pino's `hooks.logMethod` arguments), in place. */
export function redactLogArgs(args: unknown[]): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (typeof arg === 'string') args[i] = redactText(arg);
  }
  const first = args[0];
  if (typeof first === 'object' && first !== null && !(first instanceof Error)) {
    const { msg } = first as { msg?: unknown };
    if (typeof msg === 'string') {
      const redacted = redactText(msg);
      // A copy: the caller's object is not ours to change.
      if (redacted !== msg) args[0] = { ...first, msg: redacted };
    }
  }
}

/** pino's error serializer, with credentials removed from the message and stack. */
export function serializeError(err: unknown): unknown {
  if (typeof err === 'string') return redactText(err);
  // pino-http hands over an already serialized error; plain pino the Error itself.
  const serialized = (err instanceof Error ? stdSerializers.err(err) : err) as {
    message?: unknown;
    stack?: unknown;
  } | null;
  if (typeof serialized !== 'object' || serialized === null) return serialized;
  if (typeof serialized.message === 'string') serialized.message = redactText(serialized.message);
  if (typeof serialized.stack === 'string') serialized.stack = redactText(serialized.stack);
  return serialized;
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}
