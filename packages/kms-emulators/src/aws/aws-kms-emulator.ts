import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsKmsEngine, AwsKmsFault } from './aws-kms-engine.js';
import { type AwsEmulatorCredential, verifySigV4 } from './sigv4.js';

/** Options for {@link startAwsKmsEmulator}. */
export interface AwsKmsEmulatorOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /** Default region (the emulator serves any region named in a request's credential scope). */
  region?: string;
  /** The account id in key ARNs; default `111122223333`. */
  accountId?: string;
  /** Access keys the emulator accepts; default {@link DEFAULT_AWS_EMULATOR_CREDENTIALS}. */
  credentials?: AwsEmulatorCredential[];
  /** Delay before answering each KMS request, in milliseconds. */
  latencyMs?: number;
}

/** In-process fault controls, also reachable as `POST /__emulator/<control>` with a JSON body. */
export interface AwsKmsEmulatorAdmin {
  /** Stands in for a key policy change: every operation on the key answers AccessDeniedException. */
  setDenied(keyIdOrArn: string, denied?: boolean): void;
  /** The next `n` KMS requests answer ThrottlingException. */
  throttleNext(n: number): void;
  /** Each KMS request answers ThrottlingException with probability `p` (0-1). */
  setThrottleRate(p: number): void;
  /** Delay before each answer, in milliseconds. */
  setLatency(ms: number): void;
  /** While on, KMS requests are accepted and never answered (outage and deadline tests). */
  setHang(hang: boolean): void;
  /** KMS requests received (all operations, or one), including refused ones. */
  callCount(op?: string): number;
  /** Clears faults, denials and counters; with `{ keys: true }` also every key and alias. */
  reset(options?: { keys?: boolean }): void;
  /** Creates a symmetric key (and an alias to it) without going through the API, e.g. for a dev seed. */
  createKey(options?: { region?: string; multiRegion?: boolean; alias?: string }): AwsEmulatorKey;
}

/** A key made by {@link AwsKmsEmulatorAdmin.createKey}. */
export interface AwsEmulatorKey {
  keyId: string;
  arn: string;
  /** `arn:aws:kms:<region>:<account>:alias/<name>` when an alias was asked for. */
  aliasArn?: string;
}

/** A running emulator. */
export interface AwsKmsEmulator {
  /** `http://host:port`, for `new KMSClient({ endpoint })`. */
  endpoint: string;
  port: number;
  region: string;
  accountId: string;
  /** The accepted access keys (pass one to the SDK as `credentials`). */
  credentials: AwsEmulatorCredential[];
  admin: AwsKmsEmulatorAdmin;
  close(): Promise<void>;
}

/** The access key the emulator accepts unless told otherwise (AWS's documented example key). */
export const DEFAULT_AWS_EMULATOR_CREDENTIALS: readonly AwsEmulatorCredential[] = Object.freeze([
  { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
]);

const MAX_BODY = 1024 * 1024;
const JSON_TYPE = 'application/x-amz-json-1.1';

function send(res: ServerResponse, status: number, body: unknown, contentType = JSON_TYPE): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
  });
  res.end(text);
}

function sendFault(res: ServerResponse, fault: AwsKmsFault): void {
  send(res, fault.status, { __type: fault.type, message: fault.message });
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Starts a local AWS KMS endpoint speaking JSON 1.1 (`POST /`, `X-Amz-Target: TrentService.<Op>`)
 * well enough for the unmodified `@aws-sdk/client-kms`: SigV4 is verified with the known secrets,
 * keys live in memory, and faults (denial, throttling, latency, hangs) can be injected.
 */
export async function startAwsKmsEmulator(options: AwsKmsEmulatorOptions = {}): Promise<AwsKmsEmulator> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const accountId = options.accountId ?? '111122223333';
  const credentials = options.credentials ?? DEFAULT_AWS_EMULATOR_CREDENTIALS.map((c) => ({ ...c }));
  const engine = new AwsKmsEngine(accountId);
  const counts = new Map<string, number>();
  const held = new Set<ServerResponse>();
  let throttleNext = 0;
  let throttleRate = 0;
  let latencyMs = options.latencyMs ?? 0;
  let hang = false;

  const releaseHeld = (): void => {
    for (const res of held) res.destroy();
    held.clear();
  };

  const admin: AwsKmsEmulatorAdmin = {
    setDenied: (keyIdOrArn, denied = true) => {
      const arnRegion = /^arn:[^:]+:kms:([^:]+):/.exec(keyIdOrArn)?.[1];
      engine.setDenied(arnRegion ?? region, keyIdOrArn, denied);
    },
    throttleNext: (n) => {
      throttleNext = Math.max(0, Math.floor(n));
    },
    setThrottleRate: (p) => {
      throttleRate = Math.min(1, Math.max(0, p));
    },
    setLatency: (ms) => {
      latencyMs = Math.max(0, ms);
    },
    setHang: (on) => {
      hang = on;
      if (!on) releaseHeld();
    },
    callCount: (op) =>
      op === undefined ? [...counts.values()].reduce((a, b) => a + b, 0) : (counts.get(op) ?? 0),
    reset: (o) => {
      throttleNext = 0;
      throttleRate = 0;
      latencyMs = options.latencyMs ?? 0;
      hang = false;
      releaseHeld();
      counts.clear();
      engine.clearDenied();
      if (o?.keys) engine.clear();
    },
    createKey: (o = {}) => {
      const r = o.region ?? region;
      const md = engine.handle('CreateKey', r, { MultiRegion: o.multiRegion === true }).KeyMetadata as {
        KeyId: string;
        Arn: string;
      };
      const key: AwsEmulatorKey = { keyId: md.KeyId, arn: md.Arn };
      if (o.alias !== undefined) {
        const name = o.alias.startsWith('alias/') ? o.alias : `alias/${o.alias}`;
        engine.handle('CreateAlias', r, { AliasName: name, TargetKeyId: md.KeyId });
        key.aliasArn = `arn:aws:kms:${r}:${accountId}:${name}`;
      }
      return key;
    },
  };

  function control(name: string, body: Record<string, unknown>): unknown {
    switch (name) {
      case 'setDenied':
        admin.setDenied(String(body.keyId ?? ''), body.denied !== false);
        return { ok: true };
      case 'throttleNext':
        admin.throttleNext(Number(body.n ?? 0));
        return { ok: true };
      case 'setThrottleRate':
        admin.setThrottleRate(Number(body.rate ?? 0));
        return { ok: true };
      case 'setLatency':
        admin.setLatency(Number(body.ms ?? 0));
        return { ok: true };
      case 'setHang':
        admin.setHang(body.hang === true);
        return { ok: true };
      case 'callCount':
        return { count: admin.callCount(typeof body.op === 'string' ? body.op : undefined) };
      case 'reset':
        admin.reset({ keys: body.keys === true });
        return { ok: true };
      default:
        throw new AwsKmsFault('UnknownControl', `no emulator control named ${name}`, 404);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (!body) return sendFault(res, new AwsKmsFault('ValidationException', 'request body too large', 413));
    const url = req.url ?? '/';
    if (url.startsWith('/__emulator/')) {
      if (req.method !== 'POST') return sendFault(res, new AwsKmsFault('MethodNotAllowed', 'use POST', 405));
      const parsed: unknown = body.length ? JSON.parse(body.toString('utf8')) : {};
      return send(
        res,
        200,
        control(url.slice('/__emulator/'.length), parsed as Record<string, unknown>),
        'application/json',
      );
    }
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : '';
    if (req.method !== 'POST' || url.split('?')[0] !== '/' || !op) {
      return sendFault(
        res,
        new AwsKmsFault(
          'UnknownOperationException',
          'expected POST / with X-Amz-Target: TrentService.<Operation>',
        ),
      );
    }
    counts.set(op, (counts.get(op) ?? 0) + 1);
    if (hang) {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    const auth = verifySigV4({ method: req.method, url, rawHeaders: req.rawHeaders, body }, credentials);
    if ('type' in auth) return sendFault(res, new AwsKmsFault(auth.type, auth.message));
    if (auth.service !== 'kms') {
      return sendFault(
        res,
        new AwsKmsFault(
          'InvalidSignatureException',
          `Credential should be scoped to correct service: 'kms'.`,
        ),
      );
    }
    if (throttleNext > 0 || (throttleRate > 0 && Math.random() < throttleRate)) {
      if (throttleNext > 0) throttleNext--;
      return sendFault(res, new AwsKmsFault('ThrottlingException', 'Rate exceeded'));
    }
    if (latencyMs > 0) await sleep(latencyMs);
    let input: unknown;
    try {
      input = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      return sendFault(res, new AwsKmsFault('SerializationException', 'request body is not JSON'));
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return sendFault(res, new AwsKmsFault('SerializationException', 'request body must be a JSON object'));
    }
    send(res, 200, engine.handle(op, auth.region, input as Record<string, unknown>));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof AwsKmsFault) return sendFault(res, err);
      if (err instanceof SyntaxError)
        return sendFault(res, new AwsKmsFault('SerializationException', 'body is not JSON'));
      sendFault(res, new AwsKmsFault('KMSInternalException', 'internal emulator error', 500));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    endpoint: `http://${shownHost}:${port}`,
    port,
    region,
    accountId,
    credentials,
    admin,
    close: async () => {
      releaseHeld();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
