/** The error and close codes of the wire, defined once in the foundation lib. */
export { CloseCode, ERROR_CODES, type ErrorCode, type FieldError } from '@app/core';
