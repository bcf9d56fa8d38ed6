import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiResponse } from '@nestjs/swagger';
import { ErrorBodyDto, FieldErrorDto } from './error-body.dto';

/** What each error status means on every route; a route may say more about its own. */
const MEANING: Record<number, string> = {
  400: 'Invalid input (`bad_request`): `fields` names each field at fault',
  401: 'No token, or a bad or expired one (`unauthorized`)',
  403: 'The token lacks the scope this route needs (`forbidden`)',
  404: 'Not found (`not_found`)',
  413: 'The body is over the size limit (`bad_request`)',
  429: 'A limit was reached (`rate_limited`, `limit_exceeded`)',
  500: 'An unexpected error (`internal`)',
  503: 'The broker is unreachable or the replica is shedding load (`unavailable`, `overloaded`): retry later',
};

/** Documents the error answers of a route, each with the `{code, message, fields?}` body. */
export function ApiErrors(
  ...statuses: Array<keyof typeof MEANING>
): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ApiExtraModels(ErrorBodyDto, FieldErrorDto),
    ...statuses.map((status) =>
      ApiResponse({ status, description: MEANING[status], type: ErrorBodyDto }),
    ),
  );
}
