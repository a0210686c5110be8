import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CryptoService } from '../src/domain/crypto/crypto-service.js';
import { b64 } from './acceptance-helpers.js';
import { startTestService, type TestService } from './harness.js';

type Tokens = Awaited<ReturnType<TestService['tenant']>>;

const allZero = (b: Buffer) => b.length > 0 && b.every((x) => x === 0);

/**
 * The real CryptoService runs; its methods are wrapped only to keep a reference to the plaintext
 * buffers that pass through the route, so the test can look at them after the response.
 */
describe('plaintext buffers are zeroed after the response is written, never before', () => {
  let s: TestService;
  let t: Tokens;
  const T = '/v1/tenants/zero';
  const seen: Buffer[] = [];
  const proto = CryptoService.prototype;
  const real = {
    encrypt: proto.encrypt,
    encryptBatch: proto.encryptBatch,
    decrypt: proto.decrypt,
    decryptBatch: proto.decryptBatch,
  };

  beforeAll(async () => {
    proto.encrypt = async function (this: CryptoService, ...args: Parameters<CryptoService['encrypt']>) {
      seen.push(args[2]);
      return real.encrypt.apply(this, args);
    };
    proto.encryptBatch = async function (
      this: CryptoService,
      ...args: Parameters<CryptoService['encryptBatch']>
    ) {
      for (const i of args[2]) seen.push(i.plaintext);
      return real.encryptBatch.apply(this, args);
    };
    proto.decrypt = async function (this: CryptoService, ...args: Parameters<CryptoService['decrypt']>) {
      const pt = await real.decrypt.apply(this, args);
      seen.push(pt);
      return pt;
    };
    proto.decryptBatch = async function (
      this: CryptoService,
      ...args: Parameters<CryptoService['decryptBatch']>
    ) {
      const results = await real.decryptBatch.apply(this, args);
      for (const r of results) if (r.ok) seen.push(r.value);
      return results;
    };
    s = await startTestService();
    t = await s.tenant('zero');
  });
  afterAll(async () => {
    Object.assign(proto, real);
    await s?.close();
  });

  it('encrypt and decrypt: the response carries the plaintext, and both buffers are zero afterwards', async () => {
    const text = 'a record of forty-two bytes, not all zero!';
    const enc = await s.call('POST', `${T}/encrypt`, { token: t.service, body: { plaintext: b64(text) } });
    expect(enc.status).toBe(200);
    const dec = await s.call('POST', `${T}/decrypt`, {
      token: t.service,
      body: { ciphertext: enc.body.ciphertext },
    });
    expect(dec.body).toEqual({ plaintext: b64(text) });
    expect(seen).toHaveLength(2);
    expect(seen.map(allZero)).toEqual([true, true]);
  });

  it('batch encrypt and decrypt: every item answered in full, every plaintext buffer zero afterwards', async () => {
    seen.length = 0;
    const texts = ['first item', 'second item, longer than the first'];
    const enc = await s.call('POST', `${T}/encrypt/batch`, {
      token: t.service,
      body: { items: texts.map((x) => ({ plaintext: b64(x) })) },
    });
    expect(enc.status).toBe(200);
    const dec = await s.call('POST', `${T}/decrypt/batch`, {
      token: t.service,
      body: {
        items: (enc.body.results as { ciphertext: string }[]).map((r) => ({ ciphertext: r.ciphertext })),
      },
    });
    expect(dec.body).toEqual({ results: texts.map((x) => ({ ok: true, plaintext: b64(x) })) });
    expect(seen).toHaveLength(4);
    expect(seen.map(allZero)).toEqual([true, true, true, true]);
  });
});
