import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KmsError } from '../errors.js';
import { parseLocalKeyRef } from './local-key-ref.js';
import { hasKeyHealth } from '../provider.js';
import { FileLocalKeyStore, MemoryLocalKeyStore } from './local-key-store.js';
import { createLocalKmsProvider } from './local-kms-provider.js';

const ctx = { tenant: 't1', purpose: 'tenant-key', version: '1' };

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KmsError);
  return (err as KmsError).code;
}

describe('createLocalKmsProvider', () => {
  it('refuses to start in production', () => {
    expect(() => createLocalKmsProvider({ store: new MemoryLocalKeyStore(), production: true })).toThrow(
      'local: keys are development-only',
    );
    try {
      createLocalKmsProvider({ store: new MemoryLocalKeyStore(), production: true });
    } catch (err) {
      expect((err as KmsError).code).toBe('KMS_MISCONFIGURED');
    }
  });

  it('binds the context regardless of key order and rejects an extra context key', async () => {
    const store = new MemoryLocalKeyStore();
    await store.createKey('k');
    const p = createLocalKmsProvider({ store });
    const ref = parseLocalKeyRef('local:k');
    const dk = randomBytes(32);
    const { wrapped } = await p.wrap(ref, dk, { version: '1', tenant: 't1', purpose: 'tenant-key' });
    expect(Buffer.from((await p.unwrap(ref, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
    expect(await codeOf(p.unwrap(ref, wrapped, { ...ctx, extra: 'x' }))).toBe('INVALID_CIPHERTEXT');
  });

  it('cannot unwrap old blobs with a key re-created under the same name', async () => {
    const a = new MemoryLocalKeyStore();
    const b = new MemoryLocalKeyStore();
    await a.createKey('same');
    await b.createKey('same');
    const ref = parseLocalKeyRef('local:same');
    const { wrapped } = await createLocalKmsProvider({ store: a }).wrap(ref, randomBytes(32), ctx);
    expect(await codeOf(createLocalKmsProvider({ store: b }).unwrap(ref, wrapped, ctx))).toBe(
      'INVALID_CIPHERTEXT',
    );
  });

  it('rejects truncated blobs, data keys over 64 bytes and foreign key references', async () => {
    const store = new MemoryLocalKeyStore();
    await store.createKey('k');
    const p = createLocalKmsProvider({ store });
    const ref = parseLocalKeyRef('local:k');
    expect(await codeOf(p.unwrap(ref, new Uint8Array([1, 2, 3]), ctx))).toBe('INVALID_CIPHERTEXT');
    expect(await codeOf(p.wrap(ref, randomBytes(65), ctx))).toBe('KMS_MISCONFIGURED');
    const aws = { provider: 'aws-kms', uri: 'arn:aws:kms:us-east-1:111122223333:alias/x' };
    expect(await codeOf(p.wrap(aws, randomBytes(32), ctx))).toBe('KMS_MISCONFIGURED');
  });

  it('describes key health', async () => {
    const store = new MemoryLocalKeyStore();
    await store.createKey('k');
    const p = createLocalKmsProvider({ store });
    expect(hasKeyHealth(p)).toBe(true);
    const ref = parseLocalKeyRef('local:k');
    expect((await p.describe(ref)).state).toBe('enabled');
    await store.disableKey('k');
    expect((await p.describe(ref)).state).toBe('disabled');
    expect(await codeOf(p.describe(parseLocalKeyRef('local:nope')))).toBe('KEY_NOT_FOUND');
  });
});

describe('local key stores', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'byok-local-kms-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists keys without material', async () => {
    const store = new MemoryLocalKeyStore();
    await store.createKey('b');
    await store.createKey('a');
    const list = await store.listKeys();
    expect(list.map((k) => k.name)).toEqual(['a', 'b']);
    expect(list.every((k) => !('material' in k))).toBe(true);
  });

  it('rejects a duplicate name, a bad name and unknown keys', async () => {
    const store = new MemoryLocalKeyStore();
    await store.createKey('k');
    expect(await codeOf(store.createKey('k'))).toBe('KMS_MISCONFIGURED');
    expect(() => store.createKey('../etc')).toThrow(KmsError);
    expect(await codeOf(store.disableKey('missing'))).toBe('KEY_NOT_FOUND');
    expect((await store.ensureKey('k')).name).toBe('k');
    expect((await store.ensureKey('k2')).enabled).toBe(true);
  });

  it('writes the file with mode 0600 and no leftover temp files', async () => {
    const path = join(dir, 'keys-mode.json');
    const store = new FileLocalKeyStore(path);
    await Promise.all([store.createKey('x'), store.createKey('y'), store.createKey('z')]);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const body = JSON.parse(await readFile(path, 'utf8')) as { keys: unknown[] };
    expect(body.keys).toHaveLength(3);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('lets two processes sharing one file see each other’s disable and enable', async () => {
    const path = join(dir, 'keys-shared.json');
    const storeA = new FileLocalKeyStore(path);
    const storeB = new FileLocalKeyStore(path);
    await storeA.createKey('shared');
    const a = createLocalKmsProvider({ store: storeA });
    const b = createLocalKmsProvider({ store: storeB });
    const ref = parseLocalKeyRef('local:shared');
    const dk = randomBytes(32);
    const { wrapped } = await a.wrap(ref, dk, ctx);
    expect(Buffer.from((await b.unwrap(ref, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
    await storeA.disableKey('shared');
    expect(await codeOf(b.unwrap(ref, wrapped, ctx))).toBe('KEY_REVOKED');
    await storeB.enableKey('shared');
    expect(Buffer.from((await a.unwrap(ref, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
  });

  it('reports a corrupt store file as KMS_MISCONFIGURED', async () => {
    const path = join(dir, 'keys-corrupt.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path, 'not json');
    expect(await codeOf(new FileLocalKeyStore(path).listKeys())).toBe('KMS_MISCONFIGURED');
  });
});
