import type { AzureEmulatorKty } from './azure-key-store.js';
import { AzureVaultError } from './azure-key-store.js';
import type { AzureEmulatorKey, AzureFaultState } from './azure-key-vault-emulator.js';

/** What the admin routes may touch. */
export interface AzureAdminDeps {
  faults: AzureFaultState;
  createKey(k: { name: string; kty: AzureEmulatorKty; keySize?: number }): AzureEmulatorKey;
  callCount(op?: string): number;
  resetFaults(): void;
  config(): Record<string, string>;
}

const KTYS: readonly string[] = ['RSA', 'RSA-HSM', 'oct', 'oct-HSM'];

/**
 * The in-process controls over HTTP under `/__emulator/*`, for tests that run the emulator in
 * another process. Unauthenticated on purpose: the emulator is a local test fixture.
 */
export function handleAdminRoute(
  method: string,
  url: URL,
  body: Record<string, unknown> | undefined,
  deps: AzureAdminDeps,
): { status: number; body: unknown } {
  const bad = (message: string): { status: number; body: unknown } => ({
    status: 400,
    body: { error: { code: 'BadParameter', message } },
  });
  const action = url.pathname.slice('/__emulator/'.length);
  const ok = { status: 200, body: { ok: true } };
  if (method === 'GET' && action === 'config') return { status: 200, body: deps.config() };
  if (method === 'GET' && action === 'calls') {
    const op = url.searchParams.get('op') ?? undefined;
    return { status: 200, body: { count: deps.callCount(op) } };
  }
  if (method !== 'POST')
    return { status: 404, body: { error: { code: 'NotFound', message: 'unknown admin route' } } };
  switch (action) {
    case 'keys': {
      const name = body?.['name'];
      const kty = body?.['kty'] ?? 'RSA';
      const keySize = body?.['keySize'];
      if (typeof name !== 'string' || typeof kty !== 'string' || !KTYS.includes(kty)) {
        return bad('expected {"name": string, "kty": "RSA"|"RSA-HSM"|"oct"|"oct-HSM", "keySize"?: number}');
      }
      try {
        const k = deps.createKey({
          name,
          kty: kty as AzureEmulatorKty,
          ...(typeof keySize === 'number' ? { keySize } : {}),
        });
        return { status: 201, body: k };
      } catch (err) {
        if (err instanceof AzureVaultError)
          return { status: err.status, body: { error: { code: err.code, message: err.message } } };
        throw err;
      }
    }
    case 'deny': {
      const name = body?.['name'];
      if (typeof name !== 'string' || typeof body?.['denied'] !== 'boolean')
        return bad('expected {"name", "denied"}');
      if (body['denied']) deps.faults.denied.add(name);
      else deps.faults.denied.delete(name);
      return ok;
    }
    case 'throttle': {
      const n = body?.['count'];
      const ra = body?.['retryAfterSeconds'] ?? 1;
      if (typeof n !== 'number' || typeof ra !== 'number' || n < 0 || ra < 0)
        return bad('expected {"count", "retryAfterSeconds"?}');
      deps.faults.throttle.remaining = n;
      deps.faults.throttle.retryAfterSeconds = ra;
      return ok;
    }
    case 'latency': {
      const ms = body?.['ms'];
      if (typeof ms !== 'number' || ms < 0) return bad('expected {"ms": number}');
      deps.faults.latencyMs = ms;
      return ok;
    }
    case 'hang': {
      if (typeof body?.['hang'] !== 'boolean') return bad('expected {"hang": boolean}');
      deps.faults.hang = body['hang'];
      return ok;
    }
    case 'reset':
      deps.resetFaults();
      return ok;
    default:
      return { status: 404, body: { error: { code: 'NotFound', message: `unknown admin route ${action}` } } };
  }
}
