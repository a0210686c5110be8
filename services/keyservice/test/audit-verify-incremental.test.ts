import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { b64 } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

/** /v1/audit/verify continues from the last verified point; ?full=true re-hashes the whole chain. */
describe('incremental audit verification', () => {
  let s: TestService;

  beforeAll(async () => {
    s = await startTestService({ env: { HEALTH_PROBE_INTERVAL_SECONDS: '0' } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('verifies only new events by default, the whole chain with full=true, which finds old tampering', async () => {
    const t = await s.tenant('iv-acme');
    const encrypt = () =>
      s.call('POST', '/v1/tenants/iv-acme/encrypt', { token: t.service, body: { plaintext: b64('x') } });
    for (let i = 0; i < 5; i++) expect((await encrypt()).status).toBe(200);
    const verify = (q = '') =>
      s.call('GET', `/v1/audit/verify?tenantId=iv-acme${q}`, { token: s.adminToken });

    const first = await verify();
    expect(first.status).toBe(200);
    expect(first.body.ok).toBe(true);
    expect(first.body.checked).toBe(first.body.headSeq);
    const markedAt = first.body.headSeq as number;

    for (let i = 0; i < 3; i++) expect((await encrypt()).status).toBe(200);
    const second = await verify();
    expect(second.body.ok).toBe(true);
    expect(second.body.checked).toBe((second.body.headSeq as number) - markedAt);
    expect(second.body.checked).toBeLessThan(markedAt);

    // Tampering before the last verified point: the incremental mode does not re-read it ...
    const c = await s.service.store.pool.connect();
    try {
      // As an insider with superuser rights would: past the append-only trigger.
      await c.query('SET session_replication_role = replica');
      await c.query("UPDATE audit_events SET resource = 'r/forged' WHERE chain = 'iv-acme' AND seq = 2");
    } finally {
      await c.query('SET session_replication_role = origin');
      c.release();
    }
    expect((await verify()).body.ok).toBe(true);
    // ... the full verification does.
    const full = await verify('&full=true');
    expect(full.status).toBe(200);
    expect(full.body).toMatchObject({ ok: false, firstBrokenSeq: 2, reason: 'edited' });
  });
});
