import {
  AZURE_WRAP_ALGORITHMS,
  AzureVaultError,
  type AzureEmulatorKty,
  type AzureKeyStore,
  type AzureKeyVersion,
} from './azure-key-store.js';
import { fromB64u } from './azure-http.js';

/** Operation names the emulator counts (`callCount(op)`). */
export type AzureEmulatorOp =
  | 'createKey'
  | 'getKey'
  | 'updateKey'
  | 'wrapKey'
  | 'unwrapKey'
  | 'deleteKey'
  | 'getDeletedKey'
  | 'recoverKey';

/** A key API request the router recognised. */
export interface KeyRoute {
  op: AzureEmulatorOp;
  name: string;
  version?: string;
}

const NAME = /^[0-9A-Za-z-]{1,127}$/;

/**
 * Maps method and path to a key operation. Segments are kept even when empty, because the
 * SDK sends `/keys/{name}//wrapkey` for a versionless key id.
 */
export function matchKeyRoute(method: string, pathname: string): KeyRoute | undefined {
  const seg = pathname.split('/').slice(1).map(decodeURIComponent);
  const [root, name = '', a, b] = seg;
  if (!NAME.test(name)) return undefined;
  const version = a ? a : undefined;
  if (root === 'keys') {
    if (seg.length === 3 && a === 'create' && (method === 'POST' || method === 'PUT'))
      return { op: 'createKey', name };
    if (method === 'GET' && (seg.length === 2 || (seg.length === 3 && b === undefined))) {
      return version ? { op: 'getKey', name, version } : { op: 'getKey', name };
    }
    if (method === 'PATCH' && seg.length <= 3)
      return version ? { op: 'updateKey', name, version } : { op: 'updateKey', name };
    if (method === 'DELETE' && seg.length === 2) return { op: 'deleteKey', name };
    if (method === 'POST' && seg.length === 4 && (b === 'wrapkey' || b === 'unwrapkey')) {
      const op = b === 'wrapkey' ? 'wrapKey' : 'unwrapKey';
      return version ? { op, name, version } : { op, name };
    }
  }
  if (root === 'deletedkeys') {
    if (method === 'GET' && seg.length === 2) return { op: 'getDeletedKey', name };
    if (method === 'POST' && seg.length === 3 && a === 'recover') return { op: 'recoverKey', name };
  }
  return undefined;
}

const KTYS: readonly string[] = ['RSA', 'RSA-HSM', 'oct', 'oct-HSM'];

function badParameter(message: string): AzureVaultError {
  return new AzureVaultError(400, 'BadParameter', message);
}

/** Runs one key operation against the store; returns the JSON body of a 200 reply. */
export function handleKeyRoute(
  store: AzureKeyStore,
  baseUrl: string,
  route: KeyRoute,
  body: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const { name, version } = route;
  switch (route.op) {
    case 'createKey': {
      const kty = body?.['kty'];
      if (typeof kty !== 'string' || !KTYS.includes(kty)) throw badParameter('The kty parameter is invalid.');
      const keySize = body?.['key_size'];
      const keyOps = body?.['key_ops'];
      const attrs = body?.['attributes'] as { enabled?: unknown } | undefined;
      const tags = body?.['tags'];
      const v = store.create(name, {
        kty: kty as AzureEmulatorKty,
        ...(typeof keySize === 'number' ? { keySize } : {}),
        ...(Array.isArray(keyOps) ? { keyOps: keyOps.map(String) } : {}),
        ...(typeof attrs?.enabled === 'boolean' ? { enabled: attrs.enabled } : {}),
        ...(tags && typeof tags === 'object' ? { tags: tags as Record<string, string> } : {}),
      });
      return store.bundle(baseUrl, name, v);
    }
    case 'getKey':
      return store.bundle(baseUrl, name, store.get(name, version));
    case 'updateKey': {
      const attrs = body?.['attributes'] as { enabled?: unknown } | undefined;
      const tags = body?.['tags'];
      const v = store.update(name, version ?? store.get(name).version, {
        ...(typeof attrs?.enabled === 'boolean' ? { enabled: attrs.enabled } : {}),
        ...(tags && typeof tags === 'object' ? { tags: tags as Record<string, string> } : {}),
      });
      return store.bundle(baseUrl, name, v);
    }
    case 'wrapKey':
    case 'unwrapKey': {
      const alg = body?.['alg'];
      const value = fromB64u(body?.['value']);
      if (typeof alg !== 'string' || !(AZURE_WRAP_ALGORITHMS as readonly string[]).includes(alg)) {
        throw badParameter('The alg parameter is invalid.');
      }
      if (!value || value.length === 0) throw badParameter('The value parameter is invalid.');
      const { v, out } =
        route.op === 'wrapKey'
          ? store.wrap(name, version, alg, value)
          : store.unwrap(name, version, alg, value);
      return { kid: `${baseUrl}/keys/${name}/${v.version}`, value: out.toString('base64url') };
    }
    case 'deleteKey': {
      const v = store.delete(name);
      return deletedBundle(store, baseUrl, name, v, Math.floor(Date.now() / 1000));
    }
    case 'getDeletedKey': {
      const { v, deletedAt } = store.getDeleted(name);
      return deletedBundle(store, baseUrl, name, v, deletedAt);
    }
    case 'recoverKey':
      return store.bundle(baseUrl, name, store.recover(name));
  }
}

function deletedBundle(
  store: AzureKeyStore,
  baseUrl: string,
  name: string,
  v: AzureKeyVersion,
  deletedAt: number,
): Record<string, unknown> {
  return {
    ...store.bundle(baseUrl, name, v),
    recoveryId: `${baseUrl}/deletedkeys/${name}`,
    deletedDate: deletedAt,
    scheduledPurgeDate: deletedAt + 90 * 86400,
  };
}
