import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  AuditInputError,
  DEFAULT_DETAIL_KEYS,
  GENESIS_HASH,
  assertValidEvent,
  canonicalEvent,
  canonicalJson,
  computeHash,
  verifyEvents,
  type AuditEventInput,
  type ChainedAuditEvent,
} from '../src/index.js';
import { sampleEvent } from './sample-event.js';

const event = sampleEvent;

function chainOf(n: number): ChainedAuditEvent[] {
  let prev: Uint8Array = GENESIS_HASH;
  return Array.from({ length: n }, (_, i) => {
    const e = event(i + 1);
    const hash = computeHash(prev, canonicalEvent(e));
    const out = { ...e, prevHash: prev, hash };
    prev = hash;
    return out;
  });
}

describe('canonical form and hash', () => {
  it('sorts keys recursively and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined }, e: null })).toBe(
      '{"a":{"d":[1,{"y":2,"z":1}]},"b":1,"e":null}',
    );
  });

  it('includes every field, with absent ones as null and at in ISO milliseconds', () => {
    const text = canonicalEvent(event(7, { details: null }));
    const parsed = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual([...Object.keys(parsed)].sort());
    expect(Object.keys(parsed)).toHaveLength(16);
    expect(parsed.at).toBe('2026-01-01T00:00:07.000Z');
    expect(parsed.kmsKeyRef).toBeNull();
    expect(parsed.seq).toBe(7);
  });

  it('hashes SHA-256(prev || canonical) (pinned vector from sha256sum)', () => {
    expect(computeHash(GENESIS_HASH, '{"a":1}').toString('hex')).toBe(
      'b06a229070741292512e8760f470dd7a4c46ccfdf253df781d88dabe58c1ccb1',
    );
  });
});

describe('verifyEvents', () => {
  it('accepts an intact chain', async () => {
    const r = await verifyEvents(chainOf(5));
    expect(r).toMatchObject({ ok: true, checked: 5, lastSeq: 5 });
  });

  it('names an edited field', async () => {
    const c = chainOf(5);
    c[2] = { ...c[2]!, purpose: 'curiosity' };
    expect(await verifyEvents(c)).toMatchObject({
      ok: false,
      reason: 'edited',
      firstBrokenSeq: 3,
      checked: 2,
    });
  });

  it('names a deleted middle event', async () => {
    const c = chainOf(5);
    c.splice(1, 1);
    expect(await verifyEvents(c)).toMatchObject({ ok: false, reason: 'deleted', firstBrokenSeq: 2 });
  });

  it('names two swapped events', async () => {
    const c = chainOf(5);
    const a = c[1]!;
    const b = c[2]!;
    c[1] = { ...b, seq: 2 };
    c[2] = { ...a, seq: 3 };
    expect(await verifyEvents(c)).toMatchObject({ ok: false, reason: 'reordered', firstBrokenSeq: 2 });
  });

  it('names a rehashed edit by the broken link after it', async () => {
    const c = chainOf(4);
    const edited = { ...c[1]!, resource: 'records/other' };
    c[1] = { ...edited, hash: computeHash(edited.prevHash, canonicalEvent(edited)) };
    expect(await verifyEvents(c)).toMatchObject({ ok: false, reason: 'broken-link', firstBrokenSeq: 3 });
  });
});

describe('assertValidEvent', () => {
  const allowed = new Set(DEFAULT_DETAIL_KEYS);
  const ok: AuditEventInput = { action: 'secret.reveal', outcome: 'success', tenantId: 'acme' };
  const bad =
    (over: Record<string, unknown>): (() => void) =>
    () =>
      assertValidEvent({ ...ok, ...over } as AuditEventInput, allowed);

  it('accepts a minimal event and allow-listed scalar details', () => {
    expect(() => assertValidEvent(ok, allowed)).not.toThrow();
    expect(
      bad({ details: { keyVersion: 3, cacheHit: true, route: '/v1/tenants/acme-corp/secrets/openai-prod' } }),
    ).not.toThrow();
  });

  it('rejects details keys that are not allow-listed', () => {
    expect(bad({ details: { plaintext: 'x' } })).toThrow(AuditInputError);
  });

  it('rejects details values that look like key material', () => {
    expect(bad({ details: { reason: randomBytes(32).toString('base64') } })).toThrow(/key material/);
    expect(bad({ details: { reason: `key=${randomBytes(32).toString('hex')}` } })).toThrow(/key material/);
  });

  it('rejects nested, non-integer and oversized details', () => {
    expect(bad({ details: { reason: { nested: 1 } } })).toThrow(AuditInputError);
    expect(bad({ details: { durationMs: 1.5 } })).toThrow(AuditInputError);
    expect(bad({ details: { reason: 'x'.repeat(201) } })).toThrow(AuditInputError);
  });

  it('rejects a bad action, outcome or tenant id, and unstorable characters', () => {
    expect(bad({ action: 'Decrypt Now' })).toThrow(AuditInputError);
    expect(bad({ outcome: 'ok' })).toThrow(AuditInputError);
    expect(bad({ tenantId: '_platform' })).toThrow(AuditInputError);
    expect(bad({ resource: 'a\u0000b' })).toThrow(AuditInputError);
    expect(bad({ resource: 'a\ud800b' })).toThrow(AuditInputError);
  });
});
