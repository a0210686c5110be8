import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { InvalidKeyRefError, KmsError } from './errors.js';
import {
  localKeyStoreOf,
  localKmsModule,
  MemoryLocalKeyStore,
  createLocalKmsProvider,
} from './local/index.js';
import { KmsModuleRegistry } from './module-registry.js';
import type { KeyRefBase, KmsProviderModule } from './provider-module.js';
import { KmsRegistry } from './registry.js';

interface EchoRef extends KeyRefBase {
  readonly provider: 'echo';
  readonly id: string;
}

// A second module built on the local provider's code, so building it needs no cloud.
const echoModule = {
  name: 'echo',
  title: 'Echo',
  keyRefFormat: 'echo:ID',
  parseKeyRef(input: string): EchoRef {
    if (!input.startsWith('echo:')) throw new InvalidKeyRefError('echo', input, 'expected echo:ID');
    return { provider: 'echo', uri: input.toLowerCase(), id: input.slice(5) };
  },
  configSchema: z.object({ ECHO_LABEL: z.string().default('e').describe('a label') }),
  create: (config: { ECHO_LABEL: string }) => ({
    ...createLocalKmsProvider({ store: new MemoryLocalKeyStore() }),
    name: 'echo',
    label: config.ECHO_LABEL,
  }),
  health: false,
} satisfies KmsProviderModule<EchoRef, { ECHO_LABEL: string }>;

const ctx = (dataDir: string, production = false) => ({ timeoutMs: 1000, production, dataDir });

describe('KmsModuleRegistry', () => {
  const modules = new KmsModuleRegistry([localKmsModule, echoModule]);
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'byok-modules-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists its modules in registration order', () => {
    expect(modules.names()).toEqual(['local', 'echo']);
    expect(modules.has('echo')).toBe(true);
    expect(modules.has('aws-kms')).toBe(false);
    expect(modules.module('echo')).toBe(echoModule);
    expect(modules.module('nope')).toBeUndefined();
  });

  it('parses a reference with the module of that name, in its canonical form', () => {
    expect(modules.parseKeyRef('echo', 'echo:ABC')).toEqual({ provider: 'echo', uri: 'echo:abc', id: 'ABC' });
    expect(modules.parseKeyRef('local', 'local:k')).toMatchObject({ provider: 'local', name: 'k' });
  });

  it('refuses an unknown provider, naming the registered ones', () => {
    expect(() => modules.parseKeyRef('vault', 'x')).toThrow(InvalidKeyRefError);
    expect(() => modules.parseKeyRef('vault', 'x')).toThrow(/expected one of local, echo/);
  });

  it('checks the input before any module sees it', () => {
    expect(() => modules.parseKeyRef('echo', ' echo:a')).toThrow(/surrounding spaces/);
    expect(() => modules.parseKeyRef('echo', '')).toThrow(InvalidKeyRefError);
  });

  it('refuses a module that answers a reference of another provider', () => {
    const liar = { ...echoModule, name: 'liar' };
    expect(() => new KmsModuleRegistry([liar]).parseKeyRef('liar', 'echo:a')).toThrow(
      /answered a echo reference/,
    );
  });

  it('refuses duplicate and malformed module names', () => {
    expect(() => new KmsModuleRegistry([echoModule, echoModule])).toThrow(/registered twice/);
    expect(() => new KmsModuleRegistry([{ ...echoModule, name: 'Echo KMS' }])).toThrow(/must match/);
  });

  it('builds the enabled providers from their parsed settings, skipping injected ones', async () => {
    const configs = { local: {}, echo: { ECHO_LABEL: 'x' } };
    const built = await modules.createProviders(['local', 'echo'], configs, ctx(dataDir));
    expect(built.map((p) => p.name)).toEqual(['local', 'echo']);
    expect(built[1]).toMatchObject({ label: 'x' });
    // The local provider's key store is found without comparing names.
    expect(localKeyStoreOf(built[0]!)).toBeDefined();
    expect(localKeyStoreOf(built[1]!)).toBeUndefined();
    const skipped = await modules.createProviders(['local', 'echo'], configs, ctx(dataDir), ['echo']);
    expect(skipped.map((p) => p.name)).toEqual(['local']);
  });

  it('refuses a development-only module in production, an unknown name and missing settings', async () => {
    await expect(modules.createProviders(['local'], { local: {} }, ctx(dataDir, true))).rejects.toThrow(
      /development-only/,
    );
    await expect(modules.createProviders(['nope'], {}, ctx(dataDir))).rejects.toBeInstanceOf(KmsError);
    await expect(modules.createProviders(['echo'], {}, ctx(dataDir))).rejects.toThrow(/not parsed/);
  });

  it('refuses a module whose provider carries another name', async () => {
    const odd = new KmsModuleRegistry([{ ...echoModule, name: 'odd' }]);
    await expect(odd.createProviders(['odd'], { odd: { ECHO_LABEL: 'e' } }, ctx(dataDir))).rejects.toThrow(
      /built a provider named echo/,
    );
  });
});

describe('KmsRegistry', () => {
  it('parses references with its modules and picks the enabled provider for them', () => {
    const local = createLocalKmsProvider({ store: new MemoryLocalKeyStore() });
    const registry = new KmsRegistry([local], new KmsModuleRegistry([localKmsModule, echoModule]));
    const ref = registry.parseKeyRef('local', 'local:k');
    expect(registry.forRef(ref)).toBe(local);
    // Registered but not enabled: the reference parses, using it is KMS_MISCONFIGURED.
    const echo = registry.parseKeyRef('echo', 'echo:a');
    expect(() => registry.forRef(echo)).toThrow(expect.objectContaining({ code: 'KMS_MISCONFIGURED' }));
  });
});
