import { z } from 'zod';

/** `/healthz` and `/readyz` body. */
export const HealthResponse = z.object({ status: z.enum(['ok', 'ready']) });

/** `GET /docs/assets/{file}`: the files of the bundled reference page. */
export const DocsAssetName = z.enum(['swagger-ui.css', 'swagger-ui-bundle.js', 'docs-init.js']);

/** An OpenAPI 3.1 document (checked by an OpenAPI validator in the tests, not by this schema). */
export const OpenApiDocument = z.looseObject({
  openapi: z.string(),
  info: z.object({}).loose(),
  paths: z.object({}).loose(),
});
