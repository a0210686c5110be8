import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool, type Store } from '@byok/store';
import { createTestDatabase, type TestDatabase } from '@byok/store/testing';
import { runAuditVerify } from '../src/cli/audit-verify-command.js';
import { AuditSinkService } from '../src/domain/audit/audit-sinks.js';
import { EgressGuard } from '@byok/egress';
import { loadAuditSigningKey, parseSymmetricKey } from '../src/domain/audit/audit-signing-key.js';
import { createLogger } from '../src/logger.js';
import { startTestService, type TestService } from './harness.js';
import { describeOnRealPostgres } from '../../../test/support/real-postgres.js';

/** A fresh Ed25519 private key as PKCS#8 PEM, written to `dir/name`. */
async function keyFile(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
  await writeFile(path, pem, { mode: 0o600 });
  return path;
}

/** Runs `byok audit verify` in-process; returns its exit code and output lines. */
async function cli(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await runAuditVerify(args, { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out };
}

const SUITE =
  'audit-key custody: one shared signing key, a keyring with rotation, offline verification (real PostgreSQL)';
describeOnRealPostgres(SUITE, () => {
  let db: TestDatabase;
  let dir: string;
  let key1: string;
  let key2: string;
  let a: TestService;
  let b: TestService;
  let c: TestService | undefined;
  let admin: string;
  const env = (signingKey: string): Record<string, string> => ({
    AUDIT_SIGNING_KEY_FILE: signingKey,
    AUDIT_CHECKPOINT_INTERVAL_SECONDS: '0',
  });

  beforeAll(async () => {
    db = await createTestDatabase({ require: 'postgres' });
    dir = await mkdtemp(join(tmpdir(), 'byok-audit-keys-'));
    key1 = await keyFile(dir, 'signing-1.pem');
    key2 = await keyFile(dir, 'signing-2.pem');
    a = await startTestService({ sharedDb: db, env: env(key1) });
    b = await startTestService({ sharedDb: db, env: env(key1) });
    admin = a.adminToken; // the first instance bootstrapped the one platform admin
    await a.tenant('kr-acme');
  });
  afterAll(async () => {
    await c?.close();
    await b?.close();
    await a?.close();
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const checkpoint = (s: TestService) =>
    s.call('POST', '/v1/audit/checkpoints', { token: admin, body: { tenantId: 'kr-acme' } });
  // An event in the tenant's chain (a token issued), so its head moves past the last checkpoint.
  const moveChain = (s: TestService) =>
    s.call('POST', '/v1/tokens', {
      token: admin,
      body: { name: 'kr move', role: 'auditor', tenantId: 'kr-acme' },
    });
  const verifyOn = async (s: TestService) =>
    (await s.call('GET', '/v1/audit/verify?tenantId=kr-acme', { token: admin })).body as {
      ok: boolean;
      checkpointsVerified: number;
      reason?: string;
    };

  it('two instances with one signing key: checkpoints from either verify on both', async () => {
    const fromA = await checkpoint(a);
    expect(fromA.status).toBe(201);
    await moveChain(b);
    const fromB = await checkpoint(b);
    expect(fromB.status).toBe(201);
    expect(fromB.body.checkpoint.seq).toBeGreaterThan(fromA.body.checkpoint.seq);
    expect(fromB.body.checkpoint.keyId).toBe(fromA.body.checkpoint.keyId);
    for (const s of [a, b]) expect(await verifyOn(s)).toMatchObject({ ok: true, checkpointsVerified: 2 });
    const keys = await a.call('GET', '/v1/audit/public-keys', { token: admin });
    expect(keys.status).toBe(200);
    expect(keys.body).toMatchObject({ source: 'database', signingKeyId: fromA.body.checkpoint.keyId });
    expect(keys.body.keys).toHaveLength(1);
    expect(keys.text).not.toContain('PRIVATE');
  });

  it('after a rotation old and new checkpoints verify everywhere; the retired key signs nothing more', async () => {
    const before = (await a.call('GET', '/v1/audit/public-keys', { token: admin })).body;
    const oldKeyId = before.signingKeyId as string;
    c = await startTestService({ sharedDb: db, env: env(key2) });
    await moveChain(c);
    // Instance A still runs the old key: it refuses to sign rather than make an invalid checkpoint.
    const refused = await checkpoint(a);
    expect(refused.status).toBe(503);
    expect(refused.body.code).toBe('AUDIT_UNAVAILABLE');
    const fromC = await checkpoint(c);
    expect(fromC.status).toBe(201);
    expect(fromC.body.checkpoint.keyId).not.toBe(oldKeyId);
    for (const s of [a, b, c]) expect(await verifyOn(s)).toMatchObject({ ok: true, checkpointsVerified: 3 });

    const ring = await c.call('GET', '/v1/audit/public-keys', { token: admin });
    expect(ring.body.signingKeyId).toBe(fromC.body.checkpoint.keyId);
    const byId = new Map(
      (ring.body.keys as { keyId: string; validUntil: string | null }[]).map((k) => [k.keyId, k]),
    );
    expect(byId.get(oldKeyId)?.validUntil).not.toBeNull();
    expect(byId.get(fromC.body.checkpoint.keyId)?.validUntil).toBeNull();
    // Each new key entering the keyring is a platform event.
    const added = await c.call('GET', '/v1/audit?action=audit.key.add', { token: admin });
    expect((added.body.events as { resource: string }[]).map((e) => e.resource)).toEqual([
      `audit/keys/${oldKeyId}`,
      `audit/keys/${fromC.body.checkpoint.keyId}`,
    ]);
    // The deprecated single-key route answers the key this instance signs with now.
    expect((await c.call('GET', '/v1/audit/public-key', { token: admin })).body.keyId).toBe(
      fromC.body.checkpoint.keyId,
    );

    // Offline, with the keyring the security team saved (old and new checkpoints both verify).
    const exp = await c.call('GET', '/v1/audit/export?tenantId=kr-acme&format=ndjson', { token: admin });
    const file = join(dir, 'kr-acme.ndjson');
    await writeFile(file, exp.text);
    const ringFile = join(dir, 'keyring.json');
    await writeFile(ringFile, ring.text);
    const ok = await cli([file, '--keyring', ringFile, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out[0] as string)).toMatchObject({ ok: true, checkpointsVerified: 4 });

    // --public-key is repeatable; the old key alone does not cover the new checkpoint.
    const pems = (ring.body.keys as { keyId: string; publicKeyPem: string }[]).map((k) => k);
    const pemFiles = await Promise.all(
      pems.map(async (k) => {
        const p = join(dir, `${k.keyId}.pem`);
        await writeFile(p, k.publicKeyPem);
        return { keyId: k.keyId, path: p };
      }),
    );
    const oldPem = pemFiles.find((p) => p.keyId === oldKeyId)?.path as string;
    const newPem = pemFiles.find((p) => p.keyId !== oldKeyId)?.path as string;
    expect((await cli([file, '--public-key', oldPem, '--public-key', newPem])).code).toBe(0);
    const onlyOld = await cli([file, '--public-key', oldPem, '--json']);
    expect(onlyOld.code).toBe(1);
    expect(JSON.parse(onlyOld.out[0] as string)).toMatchObject({ reason: 'unknown-checkpoint-key' });

    // Without a key the command refuses (exit 2) unless told not to check signatures.
    const none = await cli([file]);
    expect(none.code).toBe(2);
    expect(none.out.join('\n')).toContain('--no-signature-check');
    expect((await cli([file, '--no-signature-check'])).code).toBe(0);
    expect((await cli([file, '--no-signature-check', '--keyring', ringFile])).code).toBe(2);
    expect((await cli([file, '--keyring'])).code).toBe(2);
  });

  it('a keyring file narrows what the service trusts: a key only in the database does not verify', async () => {
    // A trusted keyring holding only key 1 (what the security team vetted before the rotation).
    const vetted = (await a.call('GET', '/v1/audit/public-keys', { token: admin })).body.keys.filter(
      (k: { validUntil: string | null }) => k.validUntil !== null,
    );
    const ringFile = join(dir, 'vetted.json');
    await writeFile(ringFile, JSON.stringify({ keys: vetted }));
    const d = await startTestService({
      sharedDb: db,
      env: { ...env(key1), AUDIT_TRUSTED_PUBLIC_KEYS_FILE: ringFile },
    });
    try {
      const keys = await d.call('GET', '/v1/audit/public-keys', { token: admin });
      expect(keys.body.source).toBe('file');
      expect(keys.body.keys).toHaveLength(1);
      expect(await verifyOn(d)).toMatchObject({ ok: false, reason: 'unknown-checkpoint-key' });
    } finally {
      await d.close();
    }
  });
});

describe('audit provenance: request ids, client address, audited checkpoints and proving KMS calls', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService({ env: { AUDIT_CHECKPOINT_INTERVAL_SECONDS: '0' } });
    await s.tenant('pv-acme');
  });
  afterAll(async () => {
    await s?.close();
  });

  it("records the server's request id, the client's X-Request-Id beside it, and the client address", async () => {
    const r = await s.call('POST', '/v1/audit/checkpoints', {
      token: s.adminToken,
      body: { tenantId: 'pv-acme' },
      headers: { 'x-request-id': 'client-req-42' },
    });
    expect(r.status).toBe(201);
    const serverId = r.headers.get('x-request-id') as string;
    expect(serverId).not.toBe('client-req-42');
    expect(serverId).toMatch(/^[0-9a-f-]{36}$/);
    const q = await s.call('GET', '/v1/audit?tenantId=pv-acme&action=audit.checkpoint', {
      token: s.adminToken,
    });
    expect(q.body.events).toHaveLength(1);
    const e = q.body.events[0];
    // Creating the checkpoint is audited, and the checkpoint covers its own event.
    expect(e).toMatchObject({
      action: 'audit.checkpoint',
      outcome: 'success',
      actorRole: 'platform-admin',
      requestId: serverId,
      clientRequestId: 'client-req-42',
    });
    expect(e.clientAddress).toMatch(/127\.0\.0\.1|::1/);
    expect(r.body.checkpoint.seq).toBe(e.seq);
    // The checkpoint covers its own event, so the chain stands still: asking again signs nothing new.
    const again = await s.call('POST', '/v1/audit/checkpoints', {
      token: s.adminToken,
      body: { tenantId: 'pv-acme' },
    });
    expect(again.status).toBe(200);
    expect(again.body.checkpoint.seq).toBe(e.seq);
    const after = await s.call('GET', '/v1/audit?tenantId=pv-acme&action=audit.checkpoint', {
      token: s.adminToken,
    });
    expect(after.body.events).toHaveLength(1);
    // A malformed client id is not recorded at all; the server's id always is.
    const issued = await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: { name: 'pv extra', role: 'auditor', tenantId: 'pv-acme' },
      headers: { 'x-request-id': 'a b' },
    });
    expect(issued.status).toBe(201);
    const t = await s.call('GET', '/v1/audit?tenantId=pv-acme&action=token.create', { token: s.adminToken });
    const last = t.body.events.at(-1);
    expect(last).toMatchObject({ clientRequestId: null, requestId: issued.headers.get('x-request-id') });
  });

  it('audits the proving wrap and unwrap of a CMK registration, as /v1/audit/kms-calls shows them', async () => {
    const wraps = await s.call('GET', '/v1/audit/kms-calls?tenantId=pv-acme&action=kms.wrap', {
      token: s.adminToken,
    });
    expect(wraps.status).toBe(200);
    expect(wraps.body.calls).toHaveLength(1);
    const wrap = wraps.body.calls[0];
    expect(wrap).toMatchObject({ operation: 'kms.wrap', provider: 'local', outcome: 'success' });
    expect(wrap.keyRef).toContain('pv-acme-cmk');
    expect(wrap.requestId).toEqual(expect.any(String));
    const unwraps = await s.call('GET', '/v1/audit/kms-calls?tenantId=pv-acme&action=kms.unwrap', {
      token: s.adminToken,
    });
    // The proving unwrap belongs to the same request as the wrap.
    const proving = (unwraps.body.calls as { requestId: string; seq: number }[]).filter(
      (u) => u.requestId === wrap.requestId,
    );
    expect(proving).toHaveLength(1);
    expect(proving[0]?.seq).toBe(wrap.seq + 1);
  });

  it('neutralises formula cells in the CSV export, and the NDJSON export keeps the value verbatim', async () => {
    // A client id shaped like a spreadsheet formula (`-` is the formula start X-Request-Id allows).
    await s.call('POST', '/v1/tokens', {
      token: s.adminToken,
      body: { name: 'pv csv', role: 'auditor', tenantId: 'pv-acme' },
      headers: { 'x-request-id': '-1-1' },
    });
    const csv = await s.call('GET', '/v1/audit/export?tenantId=pv-acme&format=csv', { token: s.adminToken });
    expect(csv.text).toContain(",'-1-1,");
    expect(csv.text).not.toMatch(/(^|,)-1-1(,|$)/m);
    const nd = await s.call('GET', '/v1/audit/export?tenantId=pv-acme&format=ndjson', {
      token: s.adminToken,
    });
    expect(nd.text).toContain('"clientRequestId":"-1-1"');
    const out = join(s.dataDir, 'pv.ndjson');
    await writeFile(out, nd.text);
    expect((await cli([out, '--no-signature-check'])).code).toBe(0);
  });
});

describe('sink secret key: its own key, legacy sinks re-sealed at start', () => {
  it('re-seals a sink sealed under the key once derived from the signing key, and reports one it cannot open', async () => {
    const db = await createTestDatabase({ require: 'postgres' });
    const dir = await mkdtemp(join(tmpdir(), 'byok-sink-key-'));
    let store: Store | undefined;
    let s1: TestService | undefined;
    let s2: TestService | undefined;
    try {
      const signing = await keyFile(dir, 'signing.pem');
      s1 = await startTestService({ sharedDb: db, env: { AUDIT_SIGNING_KEY_FILE: signing } });
      await s1.tenant('sk-acme');
      store = await createPool({ databaseUrl: db.databaseUrl, max: 2 });
      const logger = createLogger('silent');
      const { legacySinkSecretKey } = await loadAuditSigningKey({
        file: signing,
        dataDir: dir,
        production: false,
        logger,
      });
      // Sinks as the previous release stored them, and one under a key nobody has any more.
      const loopbackAllowed = { egress: new EgressGuard({ allowCidrs: ['127.0.0.0/8'] }) };
      const legacy = await new AuditSinkService(
        store.pool,
        legacySinkSecretKey,
        false,
        loopbackAllowed,
      ).create('sk-acme', {
        url: 'http://127.0.0.1:9/legacy',
      });
      const lost = await new AuditSinkService(store.pool, randomBytes(32), false, loopbackAllowed).create(
        'sk-acme',
        {
          url: 'http://127.0.0.1:9/lost',
        },
      );
      const sinkKeyFile = join(dir, 'sink.key');
      const sinkKey = randomBytes(32);
      await writeFile(sinkKeyFile, sinkKey.toString('hex'));
      s2 = await startTestService({
        sharedDb: db,
        env: { AUDIT_SIGNING_KEY_FILE: signing, SINK_SECRET_KEY_FILE: sinkKeyFile },
      });
      const rows = (await store.pool.query('SELECT id, tenant_id, secret_sealed FROM audit_sinks')).rows as {
        id: string;
        tenant_id: string;
        secret_sealed: Buffer;
      }[];
      const row = rows.find((r) => r.id === legacy.id);
      const underNew = new AuditSinkService(store.pool, sinkKey, false);
      expect(underNew.openSecret(row as NonNullable<typeof row>).toString('utf8')).toBe(legacy.secret);
      const logs = s2.logs.join('');
      expect(logs).toContain('re-sealed');
      expect(logs).toContain(lost.id);
      expect(logs).not.toContain(legacy.secret);
    } finally {
      await store?.close();
      await s2?.close();
      await s1?.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('production refuses to generate either key; key files parse as hex, base64 or PEM of exactly 32 bytes', async () => {
    const logger = createLogger('silent');
    const dir = await mkdtemp(join(tmpdir(), 'byok-keyfiles-'));
    try {
      await expect(
        loadAuditSigningKey({ file: undefined, dataDir: dir, production: true, logger }),
      ).rejects.toThrow(/AUDIT_SIGNING_KEY_FILE is required in production/);
      const { loadSinkSecretKey } = await import('../src/domain/audit/audit-signing-key.js');
      await expect(
        loadSinkSecretKey({ file: undefined, dataDir: dir, production: true, logger }),
      ).rejects.toThrow(/SINK_SECRET_KEY_FILE is required/);
      // Development generates both under DATA_DIR, and the second start reads the same sink key.
      const k1 = await loadSinkSecretKey({ file: undefined, dataDir: dir, production: false, logger });
      const k2 = await loadSinkSecretKey({ file: undefined, dataDir: dir, production: false, logger });
      expect(k1.equals(k2)).toBe(true);
      expect(await readFile(join(dir, 'audit-sink-secret.key'), 'utf8')).not.toBe('');
      const raw = randomBytes(32);
      expect(parseSymmetricKey(raw.toString('hex'), 'f').equals(raw)).toBe(true);
      expect(parseSymmetricKey(`${raw.toString('base64')}\n`, 'f').equals(raw)).toBe(true);
      const pem = `-----BEGIN SINK KEY-----\n${raw.toString('base64')}\n-----END SINK KEY-----\n`;
      expect(parseSymmetricKey(pem, 'f').equals(raw)).toBe(true);
      expect(() => parseSymmetricKey(randomBytes(16).toString('hex'), 'f')).toThrow(/32 random bytes/);
      expect(() => parseSymmetricKey('not a key', 'f')).toThrow(/32 random bytes/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
