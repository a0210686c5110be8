import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { GcpKmsStore, type GcpVersionState } from './gcp-kms-store.js';
import { handleRpc, matchRoute, type GcpKmsOperation, type GcpRoute } from './gcp-rest-api.js';
import { GcpStatusError, type GcpStatus } from './gcp-status-error.js';

/** The bearer token the emulator accepts unless told otherwise. */
export const GCP_EMULATOR_ACCESS_TOKEN = 'gcp-emulator-token';

/** Options for {@link startGcpKmsEmulator}. */
export interface GcpKmsEmulatorOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: any free port). */
  port?: number;
  /** Bearer tokens accepted; anything else is UNAUTHENTICATED (default [{@link GCP_EMULATOR_ACCESS_TOKEN}]). */
  accessTokens?: readonly string[];
  /** CryptoKey names to create at start, each with an enabled primary version 1. */
  keys?: readonly string[];
}

/** A created key as {@link GcpKmsEmulator.createKey} reports it. */
export interface GcpEmulatorKey {
  name: string;
  primaryVersion: string;
}

/** What a corrupted response looks like: a wrong CRC32C, or the server "forgetting" to verify ours. */
export type GcpResponseCorruption = 'checksum' | 'unverified';

/** A running Cloud KMS emulator (REST transport) with in-process fault controls. */
export interface GcpKmsEmulator {
  /** `http://host:port` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** A bearer token the emulator accepts. */
  readonly accessToken: string;
  /** Creates the key ring (if needed) and an ENCRYPT_DECRYPT CryptoKey with enabled primary version 1. */
  createKey(name: string): GcpEmulatorKey;
  /** Removes (true) or restores (false) our IAM binding: Encrypt/Decrypt/Get on the key -> PERMISSION_DENIED. */
  setDenied(cryptoKeyName: string, denied: boolean): void;
  /** Sets a version's state directly; `DESTROYED` also drops its key material. */
  setVersionState(versionName: string, state: GcpVersionState): void;
  /** The next `n` API calls fail with RESOURCE_EXHAUSTED (HTTP 429). */
  throttleNext(n: number): void;
  /** The next `n` API calls fail with `status` (e.g. UNAVAILABLE). */
  failNext(n: number, status: GcpStatus): void;
  /** Delay before every API call is answered. */
  setLatency(ms: number): void;
  /** While true, API calls are accepted and never answered (until the client gives up or close()). */
  setHang(hang: boolean): void;
  /** The next Encrypt/Decrypt response carries a wrong CRC32C (or false verified flags). */
  corruptNextResponseChecksum(kind?: GcpResponseCorruption): void;
  /** API calls received (including failed and throttled ones), for one operation or all. */
  callCount(op?: GcpKmsOperation): number;
  /** Zeroes the call counters. */
  resetCallCounts(): void;
  /** Stops the server and drops open connections (hung calls included). */
  close(): Promise<void>;
}

// Only data-plane calls need our service account's binding; the customer's own admin calls stay allowed.
const PERMISSIONS: Partial<Record<GcpKmsOperation, string>> = {
  Encrypt: 'cloudkms.cryptoKeyVersions.useToEncrypt',
  Decrypt: 'cloudkms.cryptoKeyVersions.useToDecrypt',
  GetCryptoKey: 'cloudkms.cryptoKeys.get',
  GetCryptoKeyVersion: 'cloudkms.cryptoKeyVersions.get',
};
const MAX_BODY = 1024 * 1024;
const UNAUTHENTICATED_MESSAGE =
  'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.';

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.writableEnded || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, err: GcpStatusError): void {
  const headers: Record<string, string> =
    err.status === 'UNAUTHENTICATED'
      ? { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' }
      : {};
  sendJson(res, err.httpStatus, err.toBody(), headers);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new GcpStatusError('INVALID_ARGUMENT', 'Request payload is too large.');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GcpStatusError('INVALID_ARGUMENT', 'Invalid JSON payload received.');
  }
  // The SDK sends an empty message as `""` (e.g. CreateKeyRing with an empty KeyRing).
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : {};
}

/** Starts a local Cloud KMS server the unmodified `@google-cloud/kms` client talks to in REST (fallback) mode. */
export async function startGcpKmsEmulator(opts: GcpKmsEmulatorOptions = {}): Promise<GcpKmsEmulator> {
  const store = new GcpKmsStore();
  const tokens = new Set(opts.accessTokens ?? [GCP_EMULATOR_ACCESS_TOKEN]);
  const denied = new Set<string>();
  const counts = new Map<GcpKmsOperation, number>();
  const failures: GcpStatus[] = [];
  const corruptions: GcpResponseCorruption[] = [];
  let latencyMs = 0;
  let hang = false;

  const emulator = {
    createKey(name: string): GcpEmulatorKey {
      const key = store.ensureCryptoKey(name);
      return { name: key.name, primaryVersion: store.primaryOf(key)?.name ?? '' };
    },
    setDenied(cryptoKeyName: string, deny: boolean): void {
      if (deny) denied.add(cryptoKeyName);
      else denied.delete(cryptoKeyName);
    },
    setVersionState(versionName: string, state: GcpVersionState): void {
      if (state === 'DESTROYED') store.destroyNow(versionName);
      else if (state === 'DESTROY_SCHEDULED') store.destroyVersion(versionName);
      else store.getVersion(versionName).state = state;
    },
    throttleNext(n: number): void {
      emulator.failNext(n, 'RESOURCE_EXHAUSTED');
    },
    failNext(n: number, status: GcpStatus): void {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    setLatency(ms: number): void {
      latencyMs = Math.max(0, ms);
    },
    setHang(h: boolean): void {
      hang = h;
    },
    corruptNextResponseChecksum(kind: GcpResponseCorruption = 'checksum'): void {
      corruptions.push(kind);
    },
    callCount(op?: GcpKmsOperation): number {
      if (op) return counts.get(op) ?? 0;
      let total = 0;
      for (const c of counts.values()) total += c;
      return total;
    },
    resetCallCounts(): void {
      counts.clear();
    },
  };

  function failureFor(route: GcpRoute): GcpStatusError | undefined {
    const status = failures.shift();
    if (status === 'RESOURCE_EXHAUSTED') {
      return new GcpStatusError(
        status,
        "Quota exceeded for quota metric 'Cryptographic requests' and limit 'Cryptographic requests per minute'.",
      );
    }
    if (status) return new GcpStatusError(status, `The service is currently unavailable (${status}).`);
    const permission = PERMISSIONS[route.op];
    if (permission && route.cryptoKey && denied.has(route.cryptoKey)) {
      return new GcpStatusError(
        'PERMISSION_DENIED',
        `Permission '${permission}' denied on resource '${route.resource}' (or it may not exist).`,
      );
    }
    return undefined;
  }

  function corrupt(op: GcpKmsOperation, out: Record<string, unknown>): void {
    if (op !== 'Encrypt' && op !== 'Decrypt') return;
    const kind = corruptions.shift();
    if (kind === 'unverified') {
      out['verifiedPlaintextCrc32c'] = false;
      out['verifiedAdditionalAuthenticatedDataCrc32c'] = false;
    } else if (kind === 'checksum') {
      const field = op === 'Encrypt' ? 'ciphertextCrc32c' : 'plaintextCrc32c';
      out[field] = String((Number(out[field]) ^ 1) >>> 0);
    }
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = matchRoute(req.method ?? 'GET', url.pathname);
    counts.set(route.op, (counts.get(route.op) ?? 0) + 1);
    const body = await readBody(req);
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !tokens.has(auth.slice('Bearer '.length))) {
      throw new GcpStatusError('UNAUTHENTICATED', UNAUTHENTICATED_MESSAGE);
    }
    if (latencyMs > 0) await sleep(latencyMs);
    if (hang) return; // never answered: the response stays open until the client aborts or close()
    const failure = failureFor(route);
    if (failure) throw failure;
    const intEnums = (url.searchParams.get('$alt') ?? '').includes('enum-encoding=int');
    const out = handleRpc(store, { route, query: url.searchParams, body, intEnums });
    corrupt(route.op, out);
    sendJson(res, 200, out);
  }

  async function control(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readBody(req);
    const action = url.pathname.slice('/__emulator/'.length);
    const num = (k: string): number => Number(body[k] ?? 1);
    switch (`${req.method} ${action}`) {
      case 'POST keys':
        return sendJson(res, 200, emulator.createKey(String(body['name'] ?? '')));
      case 'POST denied':
        emulator.setDenied(String(body['cryptoKey'] ?? ''), body['denied'] !== false);
        break;
      case 'POST version-state':
        emulator.setVersionState(String(body['name'] ?? ''), String(body['state']) as GcpVersionState);
        break;
      case 'POST throttle':
        emulator.throttleNext(num('n'));
        break;
      case 'POST fail':
        emulator.failNext(num('n'), String(body['status'] ?? 'UNAVAILABLE') as GcpStatus);
        break;
      case 'POST latency':
        emulator.setLatency(Number(body['ms'] ?? 0));
        break;
      case 'POST hang':
        emulator.setHang(body['hang'] !== false);
        break;
      case 'POST corrupt-checksum':
        emulator.corruptNextResponseChecksum(body['kind'] === 'unverified' ? 'unverified' : 'checksum');
        break;
      case 'GET calls': {
        const op = url.searchParams.get('op') as GcpKmsOperation | null;
        return sendJson(res, 200, { count: emulator.callCount(op ?? undefined) });
      }
      case 'POST reset-calls':
        emulator.resetCallCounts();
        break;
      default:
        throw new GcpStatusError('NOT_FOUND', `Unknown emulator control: ${req.method} ${url.pathname}`);
    }
    sendJson(res, 200, { ok: true });
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const handler = url.pathname.startsWith('/__emulator/') ? control : api;
    handler(req, res, url).catch((err: unknown) => {
      sendError(res, err instanceof GcpStatusError ? err : new GcpStatusError('INTERNAL', 'Internal error.'));
    });
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  for (const name of opts.keys ?? []) emulator.createKey(name);
  const { port } = server.address() as AddressInfo;
  return {
    ...emulator,
    url: `http://${host}:${port}`,
    host,
    port,
    accessToken: [...tokens][0] ?? GCP_EMULATOR_ACCESS_TOKEN,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
