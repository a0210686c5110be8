import { startAiFake, type AiFake } from '@byok/ai-fakes';
import { sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

/** Provider keys the fake accepts (shaped as each kind's format check wants). */
export const KEYS = {
  openai: 'sk-proj-GatewayTenantKey0123456789abcdefWXYZ',
  anthropic: 'sk-ant-api03-GatewayTenantKey0123456789abcdefWXYZ',
  google: 'AIzaGatewayTenantKey0123456789abcdefghi',
  azure: 'GatewayAzureKey0123456789abcdefABCDEF01',
} as const;

/** A service whose AI upstreams all point at one loopback fake, and a tenant with one secret per kind. */
export interface GatewayFixture {
  s: TestService;
  fake: AiFake;
  tenantId: string;
  tokens: Awaited<ReturnType<TestService['tenant']>>;
  /** `http://127.0.0.1:port/v1/tenants/{t}/ai/{name}` */
  base(name: string): string;
  close(): Promise<void>;
}

/** Starts the fake, the service (egress allowed to loopback, explicitly) and tenant `tenantId` with secrets `gpt`, `claude`, `gemini`, `azure`. */
export async function startGateway(
  tenantId: string,
  env: Record<string, string> = {},
): Promise<GatewayFixture> {
  const fake = await startAiFake({ validKeys: Object.values(KEYS) });
  const s = await startTestService({
    env: {
      AI_UPSTREAM_OPENAI_URL: fake.url,
      AI_UPSTREAM_ANTHROPIC_URL: fake.url,
      AI_UPSTREAM_GOOGLE_URL: fake.url,
      AI_UPSTREAM_AZURE_OPENAI_URL: fake.url,
      EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      ...env,
    },
  });
  const tokens = await s.tenant(tenantId);
  const put = async (name: string, body: Record<string, unknown>) => {
    const r = await s.call('PUT', `/v1/tenants/${tenantId}/secrets/${name}`, { token: tokens.service, body });
    if (r.status !== 201) throw new Error(`put ${name}: ${r.status} ${r.text}`);
  };
  await put('gpt', { kind: 'openai', value: KEYS.openai });
  await put('claude', { kind: 'anthropic', value: KEYS.anthropic });
  await put('gemini', { kind: 'google', value: KEYS.google });
  await put('azure', {
    kind: 'azure-openai',
    value: KEYS.azure,
    endpoint: 'https://contoso.openai.azure.com',
  });
  return {
    s,
    fake,
    tenantId,
    tokens,
    base: (name) => `${s.url}/v1/tenants/${tenantId}/ai/${name}`,
    async close() {
      await s.close();
      await fake.close();
    },
  };
}

/** Audit rows of `action` for the tenant, oldest first. */
export async function auditRows(
  f: GatewayFixture,
  action: string,
): Promise<{ outcome: string; error_code: string | null; details: Record<string, unknown> | null }[]> {
  return sql(
    f.s,
    `SELECT outcome, error_code, details FROM audit_events WHERE tenant_id = $1 AND action = $2 ORDER BY seq`,
    [f.tenantId, action],
  );
}

/** Waits until `fn` holds (the `ai.use` event is written after the answer is on its way). */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}
