import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { apiContract, operationsOf } from '@byok/contract';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startTestService, type TestService } from './harness.js';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** Every "METHOD /path" express serves, from its router stack (`:p` written as `{p}`). */
function servedRoutes(app: TestService['service']['app']): string[] {
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return stack
    .filter((l) => l.route)
    .flatMap((l) =>
      Object.keys(l.route!.methods).map(
        (m) => `${m.toUpperCase()} ${l.route!.path.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}')}`,
      ),
    )
    .sort();
}

describe('the API contract as served (in-process, real database)', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('serves exactly the operations /openapi.json describes, and nothing else, each on its listener', async () => {
    const r = await s.call('GET', '/openapi.json');
    expect(r.status).toBe(200);
    const paths = r.body.paths as Record<string, Record<string, { servers?: unknown[] }>>;
    const documented = (onMetrics: boolean) =>
      Object.entries(paths)
        .flatMap(([path, item]) =>
          Object.entries(item)
            .filter(([, op]) => (op.servers !== undefined) === onMetrics)
            .map(([m]) => `${m.toUpperCase()} ${path}`),
        )
        .sort();
    expect(servedRoutes(s.service.app)).toEqual(documented(false));
    // The metrics listener serves only what the document places on its own server.
    expect(servedRoutes(s.service.metricsApp)).toEqual(documented(true));
    expect(documented(true)).toEqual(['GET /metrics']);
    expect(paths['/metrics']?.get?.servers).toEqual([
      expect.objectContaining({ url: 'http://{host}:{port}' }),
    ]);
    const all = [...documented(false), ...documented(true)];
    // Development mode serves the local KMS routes too: the whole contract.
    expect(all).toHaveLength(operationsOf(apiContract).length);
  });

  it('answers an OpenAPI 3.1 document that passes the OpenAPI schema validator', async () => {
    const doc = (await s.call('GET', '/openapi.json')).body;
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });

  it('serves /docs as HTML whose scripts and styles are local files that answer 200', async () => {
    const page = await s.call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    // `data:` URIs (the empty favicon that stops the browser asking for /favicon.ico) load nothing.
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1] as string)
      .filter((ref) => !ref.startsWith('data:'));
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) {
      expect(ref).not.toMatch(/^(https?:)?\/\//);
      const asset = await fetch(new URL(ref, `${s.url}/docs`));
      expect(asset.status).toBe(200);
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    expect((await s.call('GET', '/docs/assets/other.js')).status).toBe(404);
  });

  it('serves /metrics on the metrics listener only: the API port answers 404', async () => {
    // Fetched directly: the contract check would (rightly) find no NOT_FOUND in the metrics entry.
    const api = await fetch(`${s.url}/metrics`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { code: string }).code).toBe('NOT_FOUND');
    const scraped = await s.scrape();
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('# TYPE byok_kms_calls_total counter');
    const other = await fetch(`${s.metricsUrl}/healthz`);
    expect(other.status).toBe(404);
  });

  it('answers the generic 404 for a route that is not in the contract', async () => {
    const r = await s.call('GET', '/v1/tenants', { token: s.adminToken });
    expect(r.status).toBe(404);
    expect(r.body.code).toBe('NOT_FOUND');
  });
});
