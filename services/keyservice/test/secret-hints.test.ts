import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { lengthClass, maskSecret } from '../src/domain/secrets/secret-hint.js';
import { sql } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

/** Every 3-character substring of `value` that occurs in `text`. */
const sharedTrigrams = (value: string, text: string) => {
  const found = new Set<string>();
  for (let i = 0; i + 3 <= value.length; i++) {
    const tri = value.slice(i, i + 3);
    if (text.includes(tri)) found.add(tri);
  }
  return [...found];
};

describe('secret hints show no characters of generic or short values', () => {
  it('a generic value gives its kind and length class only', () => {
    expect(maskSecret('generic', 'Q#Zw!Pk%Xv&Ny*Jt')).toBe('generic, 12-19 chars');
    expect(maskSecret('generic', 'x'.repeat(40))).toBe('generic, 32-63 chars');
    expect(maskSecret('generic', 'abc')).toBe('generic, 1-11 chars');
  });

  it('a provider key under 20 characters gives its kind and length class only', () => {
    expect(maskSecret('openai', 'sk-0123456789abcdef')).toBe('openai, 12-19 chars');
  });

  it('a provider key of 20 characters or more keeps its prefix and last four', () => {
    expect(maskSecret('anthropic', 'sk-ant-api03-abcdefghijklmnop0123')).toBe('sk-ant-...0123');
    expect(maskSecret('openai', 'sk-abcdefghijklmnopqr')).toBe('sk-...opqr');
  });

  it('length classes cover every length', () => {
    expect([1, 11, 12, 19, 20, 31, 32, 63, 64, 127, 128, 8192].map(lengthClass)).toEqual([
      '1-11 chars',
      '1-11 chars',
      '12-19 chars',
      '12-19 chars',
      '20-31 chars',
      '20-31 chars',
      '32-63 chars',
      '32-63 chars',
      '64-127 chars',
      '64-127 chars',
      '128+ chars',
      '128+ chars',
    ]);
  });
});

describe('a generic secret appears in no response or stored hint, in part', () => {
  let s: TestService;
  let t: Tokens;
  const T = '/v1/tenants/hint';
  // Upper case and punctuation only, so no trigram can occur by chance in the names, ids, lower-case
  // hex fingerprints or timestamps of the responses.
  const values = ['Q#ZW!PK%XV&NY*JT', 'GQ@RB)WX(TZ]MY[KV}LP{HS'];

  beforeAll(async () => {
    s = await startTestService();
    t = await s.tenant('hint');
  });
  afterAll(async () => {
    await s?.close();
  });

  it('put, list, get and the stored hint contain no 3-character substring of the value', async () => {
    const texts: string[] = [];
    for (const [i, value] of values.entries()) {
      const put = await s.call('PUT', `${T}/secrets/db-password`, {
        token: t.service,
        body: { kind: 'generic', value, labels: { env: 'prod' } },
      });
      expect(put.status).toBe(i === 0 ? 201 : 200);
      expect(put.body.hint).toBe(`generic, ${lengthClass(value.length)}`);
      texts.push(put.text);
    }
    const list = await s.call('GET', `${T}/secrets`, { token: t.admin });
    expect(list.status).toBe(200);
    expect(list.body.secrets[0]).toMatchObject({ name: 'db-password', hint: 'generic, 20-31 chars' });
    const get = await s.call('GET', `${T}/secrets/db-password`, { token: t.admin });
    expect(get.status).toBe(200);
    const stored = await sql<{ hint: string }>(
      s,
      `SELECT hint FROM secret_versions WHERE tenant_id = 'hint'`,
    );
    expect(stored).toHaveLength(2);
    texts.push(list.text, get.text, JSON.stringify(stored));
    for (const value of values) {
      for (const text of texts) expect(sharedTrigrams(value, text)).toEqual([]);
    }
    // The reveal does carry the value: the check above would find it.
    const reveal = await s.call('POST', `${T}/secrets/db-password/reveal`, { token: t.service, body: {} });
    expect(sharedTrigrams(values[1] as string, reveal.text).length).toBeGreaterThan(0);
  });
});
