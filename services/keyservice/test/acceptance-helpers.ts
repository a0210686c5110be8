import { expect } from '@jest/globals';
import { ERROR_CODES } from '@byok/contract';
import type { Reply, TestService } from './harness.js';

/** Rows of a SQL query against the test service's own database. */
export async function sql<T = Record<string, unknown>>(
  s: TestService,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const res = await s.service.store.pool.query(text, params);
  return res.rows as T[];
}

/** Sum of `byok_kms_calls_total` samples whose labels include every given label, scraped from the metrics listener. */
export async function kmsCalls(
  s: TestService,
  labels: { provider?: string; operation?: string; outcome?: string } = {},
): Promise<number> {
  const r = await s.scrape();
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}`);
  let total = 0;
  for (const line of r.text.split('\n')) {
    const m = /^byok_kms_calls_total\{([^}]*)\} ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries(
      [...(m[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]] as const),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) total += Number(m[2]);
  }
  return total;
}

/** Number of audit rows matching the filters (read straight from PostgreSQL). */
export async function auditCount(
  s: TestService,
  f: { tenantId?: string | null; action?: string; outcome?: string; errorCode?: string },
): Promise<number> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (col: string, v: unknown) => {
    if (v === null) where.push(`${col} IS NULL`);
    else {
      params.push(v);
      where.push(`${col} = $${params.length}`);
    }
  };
  if (f.tenantId !== undefined) add('tenant_id', f.tenantId);
  if (f.action !== undefined) add('action', f.action);
  if (f.outcome !== undefined) add('outcome', f.outcome);
  if (f.errorCode !== undefined) add('error_code', f.errorCode);
  const rows = await sql<{ n: string }>(
    s,
    `SELECT count(*)::text AS n FROM audit_events${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    params,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Asserts an RFC 9457 problem reply with one of the statuses and the given stable code. */
export function expectProblem(r: Reply, status: number | number[], code?: string | string[]): void {
  const statuses = Array.isArray(status) ? status : [status];
  const ctx = `${r.status} ${r.text}`;
  expect({ ctx, ok: statuses.includes(r.status) }).toEqual({ ctx, ok: true });
  expect(r.headers.get('content-type') ?? '').toContain('application/problem+json');
  expect(ERROR_CODES as readonly string[]).toContain(r.body?.code);
  expect(r.body.status).toBe(r.status);
  if (code !== undefined) {
    const codes = Array.isArray(code) ? code : [code];
    expect({ ctx, ok: codes.includes(r.body.code as string) }).toEqual({ ctx, ok: true });
  }
}

/** The forms a secret could take if it leaked: raw, base64, base64url and hex. */
export function encodings(secret: string | Buffer): string[] {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  const forms = [
    b.toString('base64'),
    b.toString('base64url'),
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
  ];
  // Raw, and as it appears inside JSON text (logs, bodies) where quotes and controls are escaped.
  if (typeof secret === 'string') forms.unshift(secret, JSON.stringify(secret).slice(1, -1));
  // Strip base64 padding so a canary embedded mid-stream is still found by its stable prefix.
  return [...new Set(forms.map((f) => f.replace(/=+$/, '')))];
}

/** Finds which canaries (in any encoding) occur in `haystack`; returns descriptions of the hits. */
export function findCanaries(haystack: string, canaries: Record<string, string | Buffer>): string[] {
  const hits: string[] = [];
  for (const [name, value] of Object.entries(canaries)) {
    for (const form of encodings(value))
      if (haystack.includes(form)) hits.push(`${name} as ${form.slice(0, 12)}...`);
  }
  return hits;
}

/** A base64 plaintext for encrypt. */
export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
