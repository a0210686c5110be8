import { request, Agent } from 'node:http';
import type { TestService } from '../harness.js';

/** What a fuzz request got back. */
export interface RawReply {
  status: number;
  contentType: string | null;
  text: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * Sends exactly these bytes (any path, headers and body) and reads the whole answer, on a kept-alive
 * connection (`fresh`: a new one).
 */
export function send(
  baseUrl: string,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
  body?: Buffer,
  fresh = false,
): Promise<RawReply> {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: pathAndQuery,
        agent: fresh ? false : agent,
        headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? null,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Closes the keep-alive sockets of {@link send}. */
export function closeSockets(): void {
  agent.destroy();
}

// Everything a request can change, read in one statement: a digest per table of the columns a
// request writes. Left out: the audit log (refusals are audited by design: audit_events,
// audit_chain_heads, audit_verified_marks) and columns that background work moves on its own
// (the CMK state a use or a probe records, SIEM delivery progress, job progress).
const SNAPSHOT_SQL = `SELECT
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', id, name, state, cache_ttl_seconds, policy::text, updated_at) AS x FROM tenants) t) AS tenants,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', tenant_id, provider, key_ref, verified_at) AS x FROM tenant_cmk) t) AS tenant_cmk,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', tenant_id, version, md5(wrapped), cmk_provider, cmk_key_ref, state) AS x FROM tenant_keys) t) AS tenant_keys,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', tenant_id, version, access_purpose, md5(wrapped), cmk_key_ref) AS x FROM tenant_key_purpose_wraps) t) AS purpose_wraps,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', id, name, role, tenant_id, md5(token_hash::text), revoked_at) AS x FROM api_tokens) t) AS api_tokens,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', tenant_id, name, kind, labels::text, current_version, updated_at) AS x FROM secrets) t) AS secrets,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', tenant_id, name, version, kind, md5(ciphertext), tk_version, hint, fingerprint) AS x FROM secret_versions) t) AS secret_versions,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', id, tenant_id, url, batch_size, enabled) AS x FROM audit_sinks) t) AS audit_sinks,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', chain, seq, md5(head_hash::text), key_id) AS x FROM audit_checkpoints) t) AS audit_checkpoints,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', id, tenant_id, kind, target_version) AS x FROM jobs) t) AS jobs,
  (SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM
    (SELECT concat_ws('|', key_id, valid_from, valid_until) AS x FROM audit_public_keys) t) AS audit_public_keys`;

/** A digest per table of everything a request could have changed (see SNAPSHOT_SQL). */
export async function snapshot(s: TestService): Promise<Record<string, string>> {
  const { rows } = await s.service.store.pool.query(SNAPSHOT_SQL);
  return rows[0] as Record<string, string>;
}

/** Tables whose digest differs between two snapshots. */
export function changedTables(a: Record<string, string>, b: Record<string, string>): string[] {
  return Object.keys(a).filter((k) => a[k] !== b[k]);
}
