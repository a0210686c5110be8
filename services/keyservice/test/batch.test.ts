import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

describe('batch decrypt: per-item results', () => {
  let s: TestService;
  beforeAll(async () => {
    s = await startTestService();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('fails only the bad items (malformed, wrong context, tampered) and audits the batch once', async () => {
    const t = await s.tenant('batchy');
    const plaintext = Buffer.from('row 1').toString('base64');
    const enc = await s.call('POST', '/v1/tenants/batchy/encrypt/batch', {
      token: t.service,
      body: {
        items: [
          { plaintext, context: { row: '1' } },
          { plaintext, context: { row: '2' } },
        ],
      },
    });
    expect(enc.status).toBe(200);
    const [a, b] = enc.body.results.map((r: { ciphertext: string }) => r.ciphertext) as [string, string];
    const tampered = `${a.slice(0, -2)}${a.endsWith('AA') ? 'AB' : 'AA'}`;
    const dec = await s.call('POST', '/v1/tenants/batchy/decrypt/batch', {
      token: t.service,
      body: {
        items: [
          { ciphertext: a, context: { row: '1' } },
          { ciphertext: 'not base64url!', context: { row: '1' } },
          { ciphertext: b, context: { row: '1' } },
          { ciphertext: tampered, context: { row: '1' } },
          { ciphertext: b, context: { row: '2' } },
        ],
      },
    });
    expect(dec.status).toBe(200);
    expect(
      dec.body.results.map((r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code)),
    ).toEqual(['ok', 'INVALID_CIPHERTEXT', 'INVALID_CIPHERTEXT', 'INVALID_CIPHERTEXT', 'ok']);
    expect(dec.body.results[0].plaintext).toBe(plaintext);
    const events = await sql<{ details: { itemCount: number; failedCount: number } }>(
      s,
      `SELECT details FROM audit_events WHERE chain = 'batchy' AND action = 'decrypt.batch'`,
    );
    expect(events.map((e) => e.details)).toEqual([expect.objectContaining({ itemCount: 5, failedCount: 3 })]);
  });
});
