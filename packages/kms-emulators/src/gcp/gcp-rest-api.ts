import { crc32c } from '@aws-crypto/crc32c';
import { GcpStatusError } from './gcp-status-error.js';
import {
  GCP_VERSION_STATE_NUMBERS,
  type CryptoKeyRecord,
  type GcpKmsStore,
  type VersionRecord,
} from './gcp-kms-store.js';

/** The Cloud KMS RPCs the emulator serves. */
export type GcpKmsOperation =
  | 'CreateKeyRing'
  | 'GetKeyRing'
  | 'CreateCryptoKey'
  | 'GetCryptoKey'
  | 'CreateCryptoKeyVersion'
  | 'GetCryptoKeyVersion'
  | 'UpdateCryptoKeyVersion'
  | 'DestroyCryptoKeyVersion'
  | 'RestoreCryptoKeyVersion'
  | 'UpdateCryptoKeyPrimaryVersion'
  | 'Encrypt'
  | 'Decrypt';

/** A request matched to an RPC: `resource` is the `name` or `parent` from the URL path. */
export interface GcpRoute {
  op: GcpKmsOperation;
  resource: string;
  /** The CryptoKey the call touches, for IAM denial; undefined for key-ring calls. */
  cryptoKey: string | undefined;
}

/** Inputs a handler needs besides the store. */
export interface GcpRequest {
  route: GcpRoute;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The SDK asks `$alt=json;enum-encoding=int`: enums go out as numbers then, as names otherwise. */
  intEnums: boolean;
}

const COLLECTION_AT: Readonly<Record<number, string>> = {
  0: 'projects',
  2: 'locations',
  4: 'keyRings',
  6: 'cryptoKeys',
  8: 'cryptoKeyVersions',
};

/** Maps method + path (`/v1/...`) to an RPC, as the google.api.http rules of the KMS protos do. */
export function matchRoute(method: string, pathname: string): GcpRoute {
  const unknown = new GcpStatusError('NOT_FOUND', `Method not found: ${method} ${pathname}`);
  if (!pathname.startsWith('/v1/')) throw unknown;
  const segments = pathname.slice('/v1/'.length).split('/').map(decodeURIComponent);
  const last = segments[segments.length - 1] ?? '';
  // Custom verbs (":encrypt") ride on the last segment; earlier segments may hold ':' (domain projects).
  const colon = last.indexOf(':');
  const verb = colon >= 0 ? last.slice(colon + 1) : '';
  if (colon >= 0) segments[segments.length - 1] = last.slice(0, colon);
  const n = segments.length;
  for (let i = 0; i < n; i += 2) {
    if (segments[i] !== COLLECTION_AT[i] || (i + 1 < n && !segments[i + 1])) throw unknown;
  }
  // Create calls name a collection (`.../keyRings`); their resource is the parent before it.
  const resource = (n % 2 === 1 ? segments.slice(0, -1) : segments).join('/');
  const cryptoKey = n >= 8 ? segments.slice(0, 8).join('/') : undefined;
  const key = `${method} ${n} ${verb}`;
  const ops: Record<string, GcpKmsOperation> = {
    'POST 5 ': 'CreateKeyRing',
    'GET 6 ': 'GetKeyRing',
    'POST 7 ': 'CreateCryptoKey',
    'GET 8 ': 'GetCryptoKey',
    'POST 8 encrypt': 'Encrypt',
    'POST 8 decrypt': 'Decrypt',
    'POST 8 updatePrimaryVersion': 'UpdateCryptoKeyPrimaryVersion',
    'POST 9 ': 'CreateCryptoKeyVersion',
    'GET 10 ': 'GetCryptoKeyVersion',
    'PATCH 10 ': 'UpdateCryptoKeyVersion',
    'POST 10 destroy': 'DestroyCryptoKeyVersion',
    'POST 10 restore': 'RestoreCryptoKeyVersion',
    'POST 10 encrypt': 'Encrypt',
  };
  const op = ops[key];
  if (!op) throw unknown;
  return { op, resource, cryptoKey };
}

function bytesField(body: Record<string, unknown>, field: string, required: boolean): Buffer {
  const v = body[field];
  if (v === undefined || v === null || v === '') {
    if (required) throw new GcpStatusError('INVALID_ARGUMENT', `Missing required field: ${field}`);
    return Buffer.alloc(0);
  }
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) {
    throw new GcpStatusError('INVALID_ARGUMENT', `Invalid value at '${field}': not base64 bytes`);
  }
  return Buffer.from(v, 'base64');
}

// google.protobuf.Int64Value is a decimal string in proto3 JSON; numbers are accepted too.
function int64Field(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string' || !/^\d{1,20}$/.test(s)) {
    throw new GcpStatusError('INVALID_ARGUMENT', `Invalid value at '${field}': not an int64`);
  }
  return Number(s);
}

function checkCrc(data: Buffer, given: number | undefined, field: string, dataField: string): boolean {
  if (given === undefined) return false;
  if (given !== crc32c(data)) {
    throw new GcpStatusError(
      'INVALID_ARGUMENT',
      `The checksum in field ${field} did not match the data in field ${dataField} (checksum mismatch).`,
    );
  }
  return true;
}

function versionView(v: VersionRecord, ints: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    name: v.name,
    state: ints ? GCP_VERSION_STATE_NUMBERS[v.state] : v.state,
    protectionLevel: ints ? 1 : 'SOFTWARE',
    algorithm: ints ? 1 : 'GOOGLE_SYMMETRIC_ENCRYPTION',
    createTime: v.createTime.toISOString(),
    generateTime: v.createTime.toISOString(),
  };
  if (v.destroyTime) view['destroyTime'] = v.destroyTime.toISOString();
  return view;
}

function keyView(store: GcpKmsStore, k: CryptoKeyRecord, ints: boolean): Record<string, unknown> {
  const view: Record<string, unknown> = {
    name: k.name,
    purpose: ints ? 1 : 'ENCRYPT_DECRYPT',
    createTime: k.createTime.toISOString(),
    versionTemplate: {
      protectionLevel: ints ? 1 : 'SOFTWARE',
      algorithm: ints ? 1 : 'GOOGLE_SYMMETRIC_ENCRYPTION',
    },
    destroyScheduledDuration: '2592000s',
  };
  const primary = store.primaryOf(k);
  if (primary) view['primary'] = versionView(primary, ints);
  return view;
}

const STATE_BY_NUMBER = new Map(Object.entries(GCP_VERSION_STATE_NUMBERS).map(([k, v]) => [v, k]));

function purposeOf(body: Record<string, unknown>): void {
  const p = body['purpose'];
  if (p !== 1 && p !== 'ENCRYPT_DECRYPT') {
    throw new GcpStatusError('INVALID_ARGUMENT', 'The emulator supports only purpose ENCRYPT_DECRYPT.');
  }
}

/** Runs one RPC against the store and returns the proto3 JSON response body. */
export function handleRpc(store: GcpKmsStore, req: GcpRequest): Record<string, unknown> {
  const { route, query, body, intEnums: ints } = req;
  const name = route.resource;
  switch (route.op) {
    case 'CreateKeyRing': {
      const ring = store.createKeyRing(name, query.get('keyRingId') ?? '');
      return { name: ring.name, createTime: ring.createTime.toISOString() };
    }
    case 'GetKeyRing': {
      const ring = store.getKeyRing(name);
      return { name: ring.name, createTime: ring.createTime.toISOString() };
    }
    case 'CreateCryptoKey': {
      purposeOf(body);
      const skip = query.get('skipInitialVersionCreation') === 'true';
      return keyView(store, store.createCryptoKey(name, query.get('cryptoKeyId') ?? '', skip), ints);
    }
    case 'GetCryptoKey':
      return keyView(store, store.getCryptoKey(name), ints);
    case 'CreateCryptoKeyVersion':
      return versionView(store.createVersion(name), ints);
    case 'GetCryptoKeyVersion':
      return versionView(store.getVersion(name), ints);
    case 'UpdateCryptoKeyVersion': {
      const mask = (query.get('updateMask') ?? '').split(',').filter((p) => p.length > 0);
      if (mask.length !== 1 || mask[0] !== 'state') {
        throw new GcpStatusError('INVALID_ARGUMENT', 'The emulator supports update_mask "state" only.');
      }
      const raw = body['state'];
      const state = typeof raw === 'number' ? (STATE_BY_NUMBER.get(raw) ?? String(raw)) : String(raw);
      return versionView(store.setVersionState(name, state), ints);
    }
    case 'DestroyCryptoKeyVersion':
      return versionView(store.destroyVersion(name), ints);
    case 'RestoreCryptoKeyVersion':
      return versionView(store.restoreVersion(name), ints);
    case 'UpdateCryptoKeyPrimaryVersion':
      return keyView(store, store.setPrimary(name, String(body['cryptoKeyVersionId'] ?? '')), ints);
    case 'Encrypt': {
      const plaintext = bytesField(body, 'plaintext', true);
      const aad = bytesField(body, 'additionalAuthenticatedData', false);
      const pOk = checkCrc(plaintext, int64Field(body, 'plaintextCrc32c'), 'plaintext_crc32c', 'plaintext');
      const aOk = checkCrc(
        aad,
        int64Field(body, 'additionalAuthenticatedDataCrc32c'),
        'additional_authenticated_data_crc32c',
        'additional_authenticated_data',
      );
      const { version, ciphertext } = store.encrypt(name, plaintext, aad);
      return {
        name: version.name,
        ciphertext: ciphertext.toString('base64'),
        ciphertextCrc32c: String(crc32c(ciphertext)),
        verifiedPlaintextCrc32c: pOk,
        verifiedAdditionalAuthenticatedDataCrc32c: aOk,
        protectionLevel: ints ? 1 : 'SOFTWARE',
      };
    }
    case 'Decrypt': {
      const ciphertext = bytesField(body, 'ciphertext', true);
      const aad = bytesField(body, 'additionalAuthenticatedData', false);
      checkCrc(ciphertext, int64Field(body, 'ciphertextCrc32c'), 'ciphertext_crc32c', 'ciphertext');
      checkCrc(
        aad,
        int64Field(body, 'additionalAuthenticatedDataCrc32c'),
        'additional_authenticated_data_crc32c',
        'additional_authenticated_data',
      );
      const { plaintext, usedPrimary } = store.decrypt(name, ciphertext, aad);
      return {
        plaintext: plaintext.toString('base64'),
        plaintextCrc32c: String(crc32c(plaintext)),
        usedPrimary,
        protectionLevel: ints ? 1 : 'SOFTWARE',
      };
    }
  }
}
