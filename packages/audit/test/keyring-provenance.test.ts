import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  GENESIS_HASH,
  canonicalEvent,
  computeHash,
  createCheckpointSigner,
  csvField,
  eventCsvRow,
  keyringEntryJson,
  keyringOf,
  keyringProblem,
  parseKeyring,
  signCheckpoint,
  toExportedEvent,
  trustedKey,
  verifyEvents,
  verifyExport,
  type AuditEvent,
  type ChainedAuditEvent,
} from '../src/index.js';
import { sampleEvent } from './sample-event.js';

/** An event as the writer stored it before migration 0009 (no client fields). */
const oldEvent = (seq: number): AuditEvent => sampleEvent(seq, { action: 'decrypt' });

function chain(events: AuditEvent[]): ChainedAuditEvent[] {
  let prev: Uint8Array = GENESIS_HASH;
  return events.map((e) => {
    const hash = computeHash(prev, canonicalEvent(e));
    const c = { ...e, prevHash: prev, hash };
    prev = hash;
    return c;
  });
}

describe('row hash with the provenance fields of migration 0009', () => {
  it('hashes a pre-migration row exactly as the earlier release did (pinned), so old chains keep verifying', async () => {
    // Computed with packages/audit/src/hash-chain.ts as of a92517e (before the fields existed).
    expect(computeHash(GENESIS_HASH, canonicalEvent(oldEvent(1))).toString('hex')).toBe(
      '5515ee8c995a2e49c62f75b9b4b53e1f39288ef04f8e47b276f6a2471b4fd658',
    );
    expect(canonicalEvent(oldEvent(1))).not.toContain('client');
    const mixed = chain([
      oldEvent(1),
      oldEvent(2),
      { ...oldEvent(3), clientRequestId: 'c-3', clientAddress: '203.0.113.7' },
    ]);
    expect(await verifyEvents(mixed)).toMatchObject({ ok: true, checked: 3 });
  });

  it('detects a changed, removed or added provenance field', async () => {
    const base = chain([
      oldEvent(1),
      { ...oldEvent(2), clientRequestId: 'c-2', clientAddress: '203.0.113.7' },
      oldEvent(3),
    ]);
    const at = (i: number, over: Partial<AuditEvent>) =>
      base.map((e, j) => (j === i ? { ...e, ...over } : e));
    for (const forged of [
      at(1, { clientAddress: '198.51.100.1' }),
      at(1, { clientRequestId: null }),
      at(0, { clientAddress: '10.0.0.1' }),
    ]) {
      const r = await verifyEvents(forged);
      expect(r).toMatchObject({ ok: false, reason: 'edited' });
    }
  });
});

describe('CSV export neutralises formula-shaped cells', () => {
  it.each(['=SUM(A1)', '+1', '-1', '@cmd', '\tx', '\rx'])('prefixes %j with a quote', (v) => {
    expect(csvField(v).replace(/^"|"$/g, '').startsWith(`'${v[0]}`)).toBe(true);
  });

  it('leaves other cells and numbers alone, and the NDJSON form keeps the value', () => {
    expect(csvField('acme')).toBe('acme');
    expect(csvField(-3)).toBe('-3');
    const [e] = chain([{ ...oldEvent(1), resource: '=HYPERLINK("http://x")' }]);
    const row = eventCsvRow(toExportedEvent(e as ChainedAuditEvent));
    expect(row).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(JSON.stringify(toExportedEvent(e as ChainedAuditEvent))).toContain('"resource":"=HYPERLINK(');
  });
});

describe('checkpoint keyring', () => {
  const k1 = generateKeyPairSync('ed25519');
  const k2 = generateKeyPairSync('ed25519');
  const s1 = createCheckpointSigner(k1.privateKey);
  const s2 = createCheckpointSigner(k2.privateKey);
  const t = (iso: string) => new Date(iso);
  const head = { chain: 'acme', seq: 1, headHash: 'ab'.repeat(32) };

  it('trusts a key only inside its validity period (a retired key cannot sign new checkpoints)', () => {
    const ring = keyringOf([
      trustedKey(k1.publicKey, {
        validFrom: t('2026-01-01T00:00:00Z'),
        validUntil: t('2026-06-01T00:00:00Z'),
      }),
      trustedKey(k2.publicKey, { validFrom: t('2026-06-01T00:00:00Z') }),
    ]);
    const old = signCheckpoint(s1, { ...head, at: t('2026-03-01T00:00:00Z') });
    const late = signCheckpoint(s1, { ...head, at: t('2026-07-01T00:00:00Z') });
    const early = signCheckpoint(s1, { ...head, at: t('2025-12-01T00:00:00Z') });
    const fresh = signCheckpoint(s2, { ...head, at: t('2026-07-01T00:00:00Z') });
    expect(keyringProblem(old, ring)).toBeUndefined();
    expect(keyringProblem(fresh, ring)).toBeUndefined();
    expect(keyringProblem(late, ring)).toBe('key-not-valid');
    expect(keyringProblem(early, ring)).toBe('key-not-valid');
    expect(keyringProblem({ ...old, signature: fresh.signature }, ring)).toBe('bad-signature');
    expect(keyringProblem(old, keyringOf([k2.publicKey]))).toBe('unknown-key');
  });

  it('parses the keyring file (the public-keys answer), refusing a relabelled key', () => {
    const entries = [
      keyringEntryJson(trustedKey(k1.publicKey, { validUntil: t('2026-06-01T00:00:00Z') })),
      keyringEntryJson(trustedKey(k2.publicKey)),
    ];
    const ring = parseKeyring(JSON.stringify({ source: 'database', signingKeyId: s2.keyId, keys: entries }));
    expect([...ring.keys()].sort()).toEqual([s1.keyId, s2.keyId].sort());
    expect(ring.get(s1.keyId)?.validUntil?.toISOString()).toBe('2026-06-01T00:00:00.000Z');
    expect(parseKeyring(JSON.stringify(entries)).size).toBe(2);
    expect(() => parseKeyring(JSON.stringify([{ ...entries[0], keyId: s2.keyId }]))).toThrow(
      /does not match/,
    );
    expect(() => parseKeyring('{"keys":[{"publicKeyPem":"nope"}]}')).toThrow(/not a PEM/);
    expect(() => parseKeyring('{}')).toThrow(/keys/);
  });

  it('verifies an export whose checkpoints were signed before and after a rotation, with the keyring', async () => {
    const events = chain([oldEvent(1), oldEvent(2)]);
    const cp1 = signCheckpoint(s1, {
      chain: 'acme',
      seq: 1,
      headHash: Buffer.from(events[0]!.hash).toString('hex'),
      at: t('2026-03-01T00:00:00Z'),
    });
    const cp2 = signCheckpoint(s2, {
      chain: 'acme',
      seq: 2,
      headHash: Buffer.from(events[1]!.hash).toString('hex'),
      at: t('2026-07-01T00:00:00Z'),
    });
    const lines = [
      JSON.stringify(toExportedEvent(events[0]!)),
      JSON.stringify({ type: 'checkpoint', ...cp1 }),
      JSON.stringify(toExportedEvent(events[1]!)),
      JSON.stringify({ type: 'checkpoint', ...cp2 }),
    ];
    const ring = keyringOf([
      trustedKey(k1.publicKey, { validUntil: t('2026-06-01T00:00:00Z') }),
      trustedKey(k2.publicKey, { validFrom: t('2026-06-01T00:00:00Z') }),
    ]);
    expect(await verifyExport(lines, { keyring: ring })).toMatchObject({ ok: true, checkpointsVerified: 2 });
    expect(await verifyExport(lines, { publicKey: k1.publicKey })).toMatchObject({
      ok: false,
      reason: 'unknown-checkpoint-key',
      firstBrokenSeq: 2,
    });
    // The old key closed before cp1 was signed: that checkpoint no longer counts.
    const closedEarly = keyringOf([
      trustedKey(k1.publicKey, { validUntil: t('2026-02-01T00:00:00Z') }),
      trustedKey(k2.publicKey),
    ]);
    expect(await verifyExport(lines, { keyring: closedEarly })).toMatchObject({
      ok: false,
      reason: 'checkpoint-key-not-valid',
      firstBrokenSeq: 1,
    });
  });
});
