import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { apiContract, createOpenApiDocument, operationsOf } from '@byok/contract';
import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';

/** Only our own origin: scripts and styles are files served here (Swagger UI sets inline style attributes). */
const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>BYOK key service API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/docs-init.js"></script>
</body>
</html>
`;

// Relative to the page, so the reference also works behind a path prefix.
const DOCS_INIT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({ url: 'openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
`;

/** The bundled Swagger UI files, read once at start from node_modules (no CDN). */
function loadAssets(): Record<string, { type: string; body: Buffer }> {
  const dir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  // The bundle's last line points at a source map we do not serve.
  const bundle = readFileSync(join(dir, 'swagger-ui-bundle.js'), 'utf8').replace(
    /\n\/\/# sourceMappingURL=\S+\s*$/,
    '\n',
  );
  return {
    'swagger-ui.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(dir, 'swagger-ui.css')) },
    'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', body: Buffer.from(bundle) },
    'docs-init.js': { type: 'text/javascript; charset=utf-8', body: Buffer.from(DOCS_INIT) },
  };
}

/** `/openapi.json` (generated from the contract once, at start) and the `/docs` reference page. */
export function apiReferenceHandlers(opts: {
  includeDevelopment: boolean;
}): ContractHandlers<'openapi' | 'docs' | 'docsAsset'> {
  const document = JSON.stringify(
    createOpenApiDocument(operationsOf(apiContract), {
      version: '1',
      includeDevelopment: opts.includeDevelopment,
    }),
  );
  const assets = loadAssets();
  return {
    openapi: (_req, res) => {
      res.type('application/json').send(document);
    },
    docs: (_req, res) => {
      res.setHeader('Content-Security-Policy', DOCS_CSP);
      res.type('text/html; charset=utf-8').send(DOCS_HTML);
    },
    docsAsset: (req, res, input) => {
      const name = input.param(req, 'file');
      const asset = name === undefined ? undefined : assets[name];
      if (!asset) throw new AppError('NOT_FOUND', 'no such documentation asset');
      res.setHeader('Content-Security-Policy', DOCS_CSP);
      res.setHeader('Cache-Control', 'public, max-age=3600');
      res.type(asset.type).send(asset.body);
    },
  };
}
