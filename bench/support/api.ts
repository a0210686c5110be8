import { api as call } from '../../test/support/service-process.js';

/** A call that did not answer as expected: the bench cannot go on with a broken setup. */
export class BenchSetupError extends Error {
  override readonly name = 'BenchSetupError';
  readonly code = 'BENCH_SETUP_FAILED';
}

/** JSON over HTTP with a bearer token (the e2e helper); throws {@link BenchSetupError} unless the status is 2xx. */
export async function api<T = Record<string, unknown>>(
  url: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
): Promise<T> {
  const r = await call(url, method, path, token, body);
  if (r.status < 200 || r.status >= 300) {
    throw new BenchSetupError(`${method} ${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
  }
  return (r.body ?? {}) as T;
}

/** A tenant made ready for load: its CMK registered and a service token issued. */
export interface BenchTenant {
  id: string;
  serviceToken: string;
  /** The tenant's admin: the one who sets its CMK and policy (never the platform admin). */
  tenantAdminToken: string;
}

/**
 * Creates tenant `id` and its tenant admin, who registers `cmk` (the service proves wrap + unwrap
 * first); the platform admin issues a service token for it. With `localKey`, first creates that development KMS key.
 */
export async function provisionTenant(
  url: string,
  admin: string,
  id: string,
  cmk: { provider: 'local' | 'aws-kms'; keyRef: string },
  localKey?: string,
): Promise<BenchTenant> {
  await api(url, 'POST', '/v1/tenants', admin, { id, name: `bench ${id}` });
  if (localKey !== undefined) await api(url, 'POST', '/v1/dev/local-kms/keys', admin, { name: localKey });
  const ta = await api<{ token: string }>(url, 'POST', '/v1/tokens', admin, {
    name: `bench-${id}-admin`,
    role: 'tenant-admin',
    tenantId: id,
  });
  await api(url, 'PUT', `/v1/tenants/${id}/cmk`, ta.token, cmk);
  const tok = await api<{ token: string }>(url, 'POST', '/v1/tokens', admin, {
    name: `bench-${id}`,
    role: 'service',
    tenantId: id,
  });
  return { id, serviceToken: tok.token, tenantAdminToken: ta.token };
}

/** Encrypts `plaintext` for the tenant; returns the base64url ciphertext. */
export async function encryptFor(
  url: string,
  tenant: BenchTenant,
  plaintext: Buffer,
  context: Record<string, string>,
): Promise<string> {
  const r = await api<{ ciphertext: string }>(
    url,
    'POST',
    `/v1/tenants/${tenant.id}/encrypt`,
    tenant.serviceToken,
    {
      plaintext: plaintext.toString('base64'),
      context,
    },
  );
  return r.ciphertext;
}

/** What the service needs in its environment to use the AWS KMS emulator `emulator` as its KMS. */
export function awsEmulatorEnv(emulator: {
  endpoint: string;
  region: string;
  credentials: readonly { accessKeyId: string; secretAccessKey: string }[];
}): Record<string, string> {
  const credential = emulator.credentials[0];
  if (!credential) throw new BenchSetupError('the AWS KMS emulator has no credentials');
  return {
    KMS_PROVIDERS: 'aws-kms',
    AWS_ENDPOINT_URL_KMS: emulator.endpoint,
    AWS_REGION: emulator.region,
    AWS_ACCESS_KEY_ID: credential.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credential.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}
