import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';

/** The security scheme every protected operation names (`Authorization: Bearer <JWT>`). */
export const BEARER = 'bearer';

/** The OpenAPI document of the app's REST routes, as /docs and /docs-json serve it. */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  const info = new DocumentBuilder()
    .setTitle('Realtime relay')
    .setDescription(
      'REST API of the real-time messaging service. WebSocket protocol: docs/protocol.md. ' +
        'Every error answer has the body `{code, message, fields?}` (ErrorBody).',
    )
    .setVersion('1')
    // Relative: the document is right on whichever host serves it.
    .addServer('/')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER)
    .build();
  return SwaggerModule.createDocument(app, info);
}

/** Swagger UI at /docs, the document at /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => createOpenApiDocument(app));
}
