import { describe, expect, it } from '@jest/globals';
import { DecryptBatchRequest, DecryptRequest, EncryptRequest, PutSecretRequest } from '../src/index.js';

const parse = (json: string) => JSON.parse(json) as unknown;

describe('context and label keys', () => {
  it('refuses a __proto__ key, which JSON.parse keeps and zod would otherwise drop', () => {
    expect(Object.keys(parse('{"__proto__":"x"}') as object)).toEqual(['__proto__']);
    const bodies: [{ safeParse(v: unknown): { success: boolean } }, string][] = [
      [EncryptRequest, '{"plaintext":"eA==","context":{"__proto__":"x"}}'],
      [EncryptRequest, '{"plaintext":"eA==","context":{"a":"1","__proto__":"x"}}'],
      [DecryptRequest, '{"ciphertext":"AQ","context":{"__proto__":"x"}}'],
      [DecryptBatchRequest, '{"items":[{"ciphertext":"AQ","context":{"__proto__":"x"}}]}'],
      [PutSecretRequest, '{"kind":"generic","value":"v","labels":{"__proto__":"x"}}'],
    ];
    for (const [schema, body] of bodies)
      expect({ body, ok: schema.safeParse(parse(body)).success }).toEqual({ body, ok: false });
  });

  it('encrypt takes only keys of 1-64 letters, digits, dots, underscores, colons or dashes', () => {
    const ok = (key: string) =>
      EncryptRequest.safeParse({ plaintext: 'eA==', context: { [key]: 'v' } }).success;
    expect(['a', 'A.b_c:d-9', 'k'.repeat(64)].map(ok)).toEqual([true, true, true]);
    expect(['', 'user id', 'ключ', 'a/b', 'k"', 'k'.repeat(65)].map(ok)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it('decrypt still takes keys encrypt took before the rule, so those records stay decryptable', () => {
    const ok = (key: string) =>
      DecryptRequest.safeParse({ ciphertext: 'AQ', context: { [key]: 'v' } }).success;
    expect(['ключ', 'user id', 'k'.repeat(128)].map(ok)).toEqual([true, true, true]);
    expect(['', 'k'.repeat(129)].map(ok)).toEqual([false, false]);
  });

  it('keeps a context as sent, nothing added or dropped', () => {
    const r = EncryptRequest.parse(parse('{"plaintext":"eA==","context":{"b":"2","a":"1"}}'));
    expect(r.context).toEqual({ a: '1', b: '2' });
  });
});
