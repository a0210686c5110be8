import pg from 'pg';
import { assertContractReply } from './contract-check.js';

/** One request the load generator made and what came back. */
export interface Sample {
  op: 'encrypt' | 'decrypt' | 'put' | 'reveal';
  /** Index of the instance it went to. */
  instance: number;
  /** HTTP status; 0 when the connection failed (no answer at all). */
  status: number;
  /** The problem `code` of a refusal. */
  code: string | undefined;
  /** The problem `detail` of a refusal. */
  detail?: string;
  /** The server's `X-Request-Id`. */
  requestId: string | undefined;
  startedAt: number;
  endedAt: number;
  /** Set when a 2xx answer carried the wrong plaintext or value (must never happen). */
  wrong?: boolean;
}

/** A write the service acknowledged (2xx): it must read back later. */
export type Ack =
  | { kind: 'secret'; name: string; value: string }
  | { kind: 'record'; ciphertext: string; plaintext: string; row: string };

/** JSON over HTTP that never throws: status 0 for a failed connection; the reply checked against the contract. */
export async function call(
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): Promise<{ status: number; body: any; requestId: string | undefined }> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
    text = await res.text();
  } catch {
    return { status: 0, body: undefined, requestId: undefined };
  }
  assertContractReply(method, path, res.status, res.headers.get('content-type'), text);
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, requestId: res.headers.get('x-request-id') ?? undefined };
}

/** What each worker needs: where to send, as whom, and the records and secrets made beforehand. */
export interface MixedLoadOptions {
  /** URLs of the live instances, asked before every request (instances may come and go). */
  targets: () => (string | undefined)[];
  tenant: string;
  token: string;
  connections: number;
  /** Ciphertexts made before the load, to decrypt. */
  records: { ciphertext: string; plaintext: string; row: string }[];
  /** Secrets stored before the load, to reveal. */
  secrets: { name: string; value: string }[];
  /** Which operations to mix (default all four, in turn). */
  ops?: Sample['op'][];
}

/** A running mixed load: encrypt, decrypt, secret put and reveal from `connections` workers. */
export interface MixedLoad {
  samples: Sample[];
  acks: Ack[];
  /** Stops the workers and waits for their last requests. */
  stop(): Promise<void>;
}

/** A secret value the openai kind accepts, unique per name. */
export const secretValue = (name: string): string => `sk-proj-${name}-abcdefghijklmnopqrstuvwxyz`;

/** Starts the workers; each loops over the operations against the instances in turn. */
export function startMixedLoad(o: MixedLoadOptions): MixedLoad {
  const samples: Sample[] = [];
  const acks: Ack[] = [];
  let stopping = false;
  const ops = o.ops ?? ['encrypt', 'decrypt', 'put', 'reveal'];
  const t = o.tenant;
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; !stopping; n++) {
      const urls = o.targets();
      const instance = (w + n) % urls.length;
      const url = urls[instance];
      if (url === undefined) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const op = ops[(w + n) % ops.length]!;
      const id = `w${w}-${n}`;
      const startedAt = Date.now();
      let r: Awaited<ReturnType<typeof call>>;
      let wrong = false;
      if (op === 'encrypt') {
        const plaintext = Buffer.from(`record ${id}`).toString('base64');
        r = await call(url, 'POST', `/v1/tenants/${t}/encrypt`, o.token, { plaintext, context: { row: id } });
        if (r.status === 200)
          acks.push({ kind: 'record', ciphertext: r.body.ciphertext, plaintext, row: id });
      } else if (op === 'decrypt') {
        const rec = o.records[n % o.records.length]!;
        r = await call(url, 'POST', `/v1/tenants/${t}/decrypt`, o.token, {
          ciphertext: rec.ciphertext,
          context: { row: rec.row },
        });
        wrong = r.status === 200 && r.body.plaintext !== rec.plaintext;
      } else if (op === 'put') {
        const value = secretValue(id);
        r = await call(url, 'PUT', `/v1/tenants/${t}/secrets/${id}`, o.token, { kind: 'openai', value });
        if (r.status === 201 || r.status === 200) acks.push({ kind: 'secret', name: id, value });
      } else {
        const s = o.secrets[n % o.secrets.length]!;
        r = await call(url, 'POST', `/v1/tenants/${t}/secrets/${s.name}/reveal`, o.token, {});
        wrong = r.status === 200 && r.body.value !== s.value;
      }
      samples.push({
        op,
        instance,
        status: r.status,
        code: typeof r.body?.code === 'string' ? r.body.code : undefined,
        ...(typeof r.body?.detail === 'string' ? { detail: r.body.detail } : {}),
        requestId: r.requestId,
        startedAt,
        endedAt: Date.now(),
        ...(wrong ? { wrong } : {}),
      });
      // A refusal says Retry-After: 1, and the typed client (packages/client) waits it out; so does
      // this one, instead of spinning on an instance that is refusing. A cut connection: 250 ms.
      if (r.status === 503 || r.status === 0)
        await new Promise((res) => setTimeout(res, r.status === 503 ? 1000 : 250));
    }
  };
  const running = Promise.all(Array.from({ length: o.connections }, (_, w) => worker(w)));
  return {
    samples,
    acks,
    async stop() {
      stopping = true;
      await running;
    },
  };
}

/** Request ids of the successful audit events of `actions` for `tenant` (read straight from PostgreSQL). */
export async function auditedRequestIds(
  databaseUrl: string,
  tenant: string,
  actions: string[],
): Promise<Set<string>> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const rows = await c.query<{ request_id: string }>(
      `SELECT request_id FROM audit_events
        WHERE tenant_id = $1 AND action = ANY($2) AND outcome = 'success' AND request_id IS NOT NULL`,
      [tenant, actions],
    );
    return new Set(rows.rows.map((r) => r.request_id));
  } finally {
    await c.end();
  }
}

/** The audit action a successful sample must have left, if any. */
export const auditActionOf = (op: Sample['op']): string | undefined =>
  op === 'decrypt' ? 'decrypt' : op === 'reveal' ? 'secret.reveal' : op === 'put' ? 'secret.put' : undefined;

/** Every acknowledged write, read back through `url`: returns the ones that did not come back. */
export async function lostWrites(url: string, tenant: string, token: string, acks: Ack[]): Promise<Ack[]> {
  const lost: Ack[] = [];
  // A few at a time: this is a check, not load.
  for (let i = 0; i < acks.length; i += 16) {
    await Promise.all(
      acks.slice(i, i + 16).map(async (a) => {
        if (a.kind === 'secret') {
          const r = await call(url, 'POST', `/v1/tenants/${tenant}/secrets/${a.name}/reveal`, token, {});
          if (r.status !== 200 || r.body.value !== a.value) lost.push(a);
        } else {
          const r = await call(url, 'POST', `/v1/tenants/${tenant}/decrypt`, token, {
            ciphertext: a.ciphertext,
            context: { row: a.row },
          });
          if (r.status !== 200 || r.body.plaintext !== a.plaintext) lost.push(a);
        }
      }),
    );
  }
  return lost;
}

/** The p-th percentile (0-100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
