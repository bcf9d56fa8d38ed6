export { connect, RealtimeClient } from './client';
export { ClientError, type ClientErrorCode, type FieldError, type ServerErrorCode } from './errors';
export type * from './types';
