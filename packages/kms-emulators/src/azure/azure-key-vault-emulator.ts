import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { readBody, parseJsonObject, sendJson, vaultError } from './azure-http.js';
import { AzureKeyStore, AzureVaultError, type AzureEmulatorKty } from './azure-key-store.js';
import { handleKeyRoute, matchKeyRoute, type AzureEmulatorOp } from './azure-key-routes.js';
import { AzureTokenAuthority, type AzureEmulatorClient } from './azure-token-authority.js';
import { handleAdminRoute } from './azure-emulator-admin.js';
import { createTestCertificates, type TestCertificates } from './test-ca.js';

/** Options for {@link startAzureKeyVaultEmulator}. */
export interface AzureKeyVaultEmulatorOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** The Entra ID tenant the token endpoint serves (default: a random GUID). */
  tenantId?: string;
  /** App registrations the token endpoint accepts (default: one random client). */
  clients?: AzureEmulatorClient[];
  /** Lifetime of issued access tokens in seconds (default 3600). */
  tokenLifetimeSeconds?: number;
  /** Keys to create at start. */
  keys?: Array<{ name: string; kty: AzureEmulatorKty; keySize?: number }>;
  /** Reuse certificates instead of making a fresh CA. */
  certificates?: TestCertificates;
}

/** One request the emulator answered, for tests (never bodies or tokens). */
export interface AzureEmulatorRequestRecord {
  method: string;
  path: string;
  op: AzureEmulatorOp | 'challenge' | 'token' | 'metadata' | 'admin' | 'other';
  status: number;
  hadAuthorization: boolean;
  bodyBytes: number;
}

/** A created key as the emulator reports it. */
export interface AzureEmulatorKey {
  name: string;
  version: string;
  /** Versioned key id on the emulator's 127.0.0.1 URL. */
  kid: string;
}

/** A running Azure Key Vault emulator with in-process controls. */
export interface AzureKeyVaultEmulator {
  /** `https://127.0.0.1:<port>`: the vault URL and the `authorityHost` for credentials. */
  readonly url: string;
  readonly port: number;
  /** PEM of the CA that signed the server certificate: pass as `tlsOptions: { ca }`. */
  readonly caPem: string;
  readonly tenantId: string;
  /** The first configured client id and secret. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Versionless key id `${url}/keys/${name}`. */
  keyId(name: string, version?: string): string;
  /** Creates a key (or a new version of it) without going through the API. */
  createKey(opts: { name: string; kty: AzureEmulatorKty; keySize?: number }): AzureEmulatorKey;
  /** Simulates removing the caller's RBAC role on a key: every call on it answers 403 ForbiddenByRbac. */
  setDenied(name: string, denied: boolean): void;
  /** The next `n` key API calls answer 429 with `Retry-After: retryAfterSeconds`. */
  throttleNext(n: number, retryAfterSeconds?: number): void;
  /** Delay added before each key API reply. */
  setLatency(ms: number): void;
  /** While true, key API calls are never answered (their sockets stay open until close). */
  setHang(hang: boolean): void;
  /** Authenticated key API calls seen, of one operation or all; `challenge` counts 401 challenges. */
  callCount(op?: AzureEmulatorOp | 'challenge' | 'token'): number;
  /** Every request answered so far, oldest first. */
  requests(): readonly AzureEmulatorRequestRecord[];
  /** Clears denials, throttling, latency and hang. */
  resetFaults(): void;
  close(): Promise<void>;
}

/** Mutable fault switches shared with the admin routes. */
export interface AzureFaultState {
  denied: Set<string>;
  throttle: { remaining: number; retryAfterSeconds: number };
  latencyMs: number;
  hang: boolean;
}

const DEFAULT_CHALLENGE_RESOURCE = 'https://vault.azure.net';

/** Starts an HTTPS server speaking enough of the Key Vault keys API and Entra ID for the official SDKs. */
export async function startAzureKeyVaultEmulator(
  opts: AzureKeyVaultEmulatorOptions = {},
): Promise<AzureKeyVaultEmulator> {
  const certs = opts.certificates ?? (await createTestCertificates());
  const tenantId = opts.tenantId ?? randomUUID();
  const clients = opts.clients ?? [
    { clientId: randomUUID(), clientSecret: randomBytes(24).toString('base64url') },
  ];
  const firstClient = clients[0];
  if (!firstClient) throw new RangeError('at least one client is required');
  const first: AzureEmulatorClient = firstClient;
  const authority = new AzureTokenAuthority(tenantId, clients, opts.tokenLifetimeSeconds);
  const store = new AzureKeyStore();
  const faults: AzureFaultState = {
    denied: new Set(),
    throttle: { remaining: 0, retryAfterSeconds: 1 },
    latencyMs: 0,
    hang: false,
  };
  const counts = new Map<string, number>();
  const log: AzureEmulatorRequestRecord[] = [];
  let url = '';

  const count = (op: string): void => {
    counts.set(op, (counts.get(op) ?? 0) + 1);
  };
  const createKey = (k: { name: string; kty: AzureEmulatorKty; keySize?: number }): AzureEmulatorKey => {
    const v = store.create(k.name, { kty: k.kty, ...(k.keySize ? { keySize: k.keySize } : {}) });
    return { name: k.name, version: v.version, kid: `${url}/keys/${k.name}/${v.version}` };
  };
  const total = (op?: string): number => (op ? (counts.get(op) ?? 0) : sum(counts, ['challenge', 'token']));
  const resetFaults = (): void => {
    faults.denied.clear();
    faults.throttle.remaining = 0;
    faults.latencyMs = 0;
    faults.hang = false;
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    res.setHeader('x-ms-request-id', requestId);
    const host = req.headers.host ?? new URL(url).host;
    const baseUrl = `https://${host}`;
    const parsed = new URL(req.url ?? '/', baseUrl);
    const method = req.method ?? 'GET';
    const body = await readBody(req);
    const record: AzureEmulatorRequestRecord = {
      method,
      path: parsed.pathname,
      op: 'other',
      status: 0,
      hadAuthorization: typeof req.headers.authorization === 'string',
      bodyBytes: body.length,
    };
    log.push(record);
    const reply = (status: number, json: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      sendJson(res, status, json, headers);
    };

    if (parsed.pathname.startsWith('/__emulator/')) {
      record.op = 'admin';
      const out = handleAdminRoute(method, parsed, parseJsonObject(body), {
        faults,
        createKey,
        callCount: total,
        resetFaults,
        config: () => ({
          url,
          tenantId,
          clientId: first.clientId,
          clientSecret: first.clientSecret,
          caPem: certs.caPem,
        }),
      });
      reply(out.status, out.body);
      return;
    }
    const meta = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(parsed.pathname);
    if (meta && method === 'GET') {
      record.op = 'metadata';
      const out = authority.openIdConfiguration(baseUrl, meta[1] ?? '');
      reply(out.status, out.body);
      return;
    }
    const tok = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(parsed.pathname);
    if (tok && method === 'POST') {
      record.op = 'token';
      count('token');
      const out = authority.token(tok[1] ?? '', new URLSearchParams(body.toString('utf8')));
      reply(out.status, out.body);
      return;
    }

    const route = matchKeyRoute(method, parsed.pathname);
    if (!route) {
      reply(404, vaultError('NotFound', `No route for ${method} ${parsed.pathname}.`));
      return;
    }
    // The query arrives as `api%2Dversion`; URLSearchParams decodes it.
    if (!parsed.searchParams.get('api-version')) {
      reply(400, vaultError('BadParameter', 'The api-version query parameter is missing.'));
      return;
    }
    const auth = req.headers.authorization;
    if (!auth) {
      record.op = 'challenge';
      count('challenge');
      reply(401, vaultError('Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.'), {
        'www-authenticate': `Bearer authorization="${baseUrl}/${tenantId}", resource="${DEFAULT_CHALLENGE_RESOURCE}"`,
      });
      return;
    }
    const claims = auth.startsWith('Bearer ') ? authority.verify(auth.slice('Bearer '.length)) : undefined;
    if (!claims) {
      reply(401, vaultError('Unauthorized', 'AKV10022: Invalid audience, issuer or signature.'), {
        'www-authenticate': `Bearer authorization="${baseUrl}/${tenantId}", resource="${DEFAULT_CHALLENGE_RESOURCE}"`,
      });
      return;
    }
    record.op = route.op;
    count(route.op);
    if (faults.hang) return; // Never answered; close() tears the socket down.
    if (faults.latencyMs > 0) await sleep(faults.latencyMs);
    if (faults.throttle.remaining > 0) {
      faults.throttle.remaining -= 1;
      reply(
        429,
        vaultError('Throttled', 'Request was not processed because too many requests were received.'),
        { 'retry-after': String(faults.throttle.retryAfterSeconds) },
      );
      return;
    }
    if (faults.denied.has(route.name)) {
      reply(
        403,
        vaultError(
          'Forbidden',
          `Caller is not authorized to perform action on resource.\r\nCaller: appid=${claims.appid}\r\nAction: 'Microsoft.KeyVault/vaults/keys/${route.op}'\r\nResource: '/keys/${route.name}'\r\nAssignment: (not found)`,
          'ForbiddenByRbac',
        ),
      );
      return;
    }
    try {
      reply(200, handleKeyRoute(store, baseUrl, route, parseJsonObject(body)));
    } catch (err) {
      if (err instanceof AzureVaultError) reply(err.status, vaultError(err.code, err.message, err.innerCode));
      else throw err;
    }
  }

  const server: Server = createServer({ key: certs.keyPem, cert: certs.certPem }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, vaultError('InternalServerError', 'Emulator failure.'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  url = `https://127.0.0.1:${port}`;
  for (const k of opts.keys ?? []) createKey(k);

  return {
    url,
    port,
    caPem: certs.caPem,
    tenantId,
    clientId: first.clientId,
    clientSecret: first.clientSecret,
    keyId: (name, version) => `${url}/keys/${name}${version ? `/${version}` : ''}`,
    createKey,
    setDenied: (name, denied) => {
      if (denied) faults.denied.add(name);
      else faults.denied.delete(name);
    },
    throttleNext: (n, retryAfterSeconds = 1) => {
      faults.throttle.remaining = n;
      faults.throttle.retryAfterSeconds = retryAfterSeconds;
    },
    setLatency: (ms) => {
      faults.latencyMs = ms;
    },
    setHang: (hang) => {
      faults.hang = hang;
    },
    callCount: total,
    requests: () => log,
    resetFaults,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function sum(counts: Map<string, number>, exclude: readonly string[] = []): number {
  let n = 0;
  for (const [k, v] of counts) if (!exclude.includes(k)) n += v;
  return n;
}
