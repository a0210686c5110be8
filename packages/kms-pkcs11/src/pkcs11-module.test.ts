import { describe, expect, it } from '@jest/globals';
import { InvalidKeyRefError } from '@byok/kms';
import { KEY_PLACEHOLDER, PKCS11_KEY_TEMPLATE, TOKEN_PLACEHOLDER } from './pkcs11-onboarding.js';
import { pkcs11Module } from './pkcs11-module.js';

const config = pkcs11Module.configSchema.parse({
  PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so',
  PKCS11_PIN_FILE: '/run/secrets/pin',
  PKCS11_SERVICE_IDENTITY: 'partition byok-prod, Crypto User',
});

describe('pkcs11Module', () => {
  it('describes itself: name, title, key-reference format and parser', () => {
    expect(pkcs11Module.name).toBe('pkcs11');
    expect(pkcs11Module.title).toMatch(/PKCS#11/);
    expect(pkcs11Module.keyRefFormat).toBe('pkcs11:token=TOKEN_LABEL;object=KEY_LABEL');
    expect(pkcs11Module.parseKeyRef('pkcs11:object=k;token=t').uri).toBe('pkcs11:token=t;object=k');
    expect(() => pkcs11Module.parseKeyRef('arn:aws:kms:x')).toThrow(InvalidKeyRefError);
    expect(pkcs11Module.health).toBe(true);
  });

  it('has a config schema keyed by env names, each described, with no secret defaults', () => {
    const shape = pkcs11Module.configSchema.shape;
    expect(Object.keys(shape).sort()).toEqual([
      'PKCS11_MODULE',
      'PKCS11_PIN_FILE',
      'PKCS11_SERVICE_IDENTITY',
      'PKCS11_SESSIONS',
    ]);
    for (const field of Object.values(shape)) expect(field.description?.length).toBeGreaterThan(20);
    const empty = pkcs11Module.configSchema.parse({});
    expect(empty).toEqual({ PKCS11_SESSIONS: 4 });
    expect(pkcs11Module.configSchema.parse({ PKCS11_SESSIONS: '12' }).PKCS11_SESSIONS).toBe(12);
    expect(pkcs11Module.configSchema.safeParse({ PKCS11_SESSIONS: '0' }).success).toBe(false);
  });

  it('refuses to build without PKCS11_MODULE or PKCS11_PIN_FILE, naming the variable', async () => {
    const ctx = { timeoutMs: 1000, production: false, dataDir: '/tmp' };
    await expect(pkcs11Module.create({ PKCS11_SESSIONS: 4 }, ctx)).rejects.toMatchObject({
      code: 'KMS_MISCONFIGURED',
      message: expect.stringContaining('PKCS11_MODULE is not set'),
    });
    await expect(
      pkcs11Module.create({ PKCS11_SESSIONS: 4, PKCS11_MODULE: '/x.so' }, ctx),
    ).rejects.toMatchObject({
      code: 'KMS_MISCONFIGURED',
      message: expect.stringContaining('PKCS11_PIN_FILE is not set'),
    });
    await expect(
      pkcs11Module.create(
        { PKCS11_SESSIONS: 4, PKCS11_MODULE: '/x.so', PKCS11_PIN_FILE: '/nonexistent/pin' },
        ctx,
      ),
    ).rejects.toMatchObject({ code: 'KMS_MISCONFIGURED', message: expect.stringContaining('(ENOENT)') });
  });
});

describe('pkcs11 onboarding', () => {
  const onboarding = pkcs11Module.onboarding;

  it('names the crypto user the service logs in as, from PKCS11_SERVICE_IDENTITY', () => {
    expect(onboarding.principalVariable).toBe('PKCS11_SERVICE_IDENTITY');
    expect(onboarding.principal(config)).toBe('partition byok-prod, Crypto User');
    expect(onboarding.principal(pkcs11Module.configSchema.parse({}))).toBeUndefined();
  });

  it('describes an AES-256 key that stays in the HSM and can be disabled, on the named token', () => {
    const ref = pkcs11Module.parseKeyRef('pkcs11:token=acme-hsm;object=acme-cmk');
    const { grant, terraform, notes } = onboarding.grant('acme', 'partition byok-prod, Crypto User', ref);
    expect(grant).toMatchObject({
      kind: 'pkcs11-secret-key',
      keyRef: 'pkcs11:token=acme-hsm;object=acme-cmk',
      token: 'acme-hsm',
      label: 'acme-cmk',
      serviceIdentity: 'partition byok-prod, Crypto User',
      mechanism: 'CKM_AES_GCM',
      template: {
        CKA_CLASS: 'CKO_SECRET_KEY',
        CKA_KEY_TYPE: 'CKK_AES',
        CKA_VALUE_LEN: 32,
        CKA_TOKEN: true,
        CKA_SENSITIVE: true,
        CKA_EXTRACTABLE: false,
        CKA_ENCRYPT: true,
        CKA_DECRYPT: true,
        CKA_MODIFIABLE: true,
        CKA_LABEL: 'acme-cmk',
      },
      disable: { CKA_ENCRYPT: false, CKA_DECRYPT: false },
    });
    expect(terraform).toBeUndefined();
    expect(notes.join(' ')).toMatch(/No Terraform/);
    expect(notes.join(' ')).toMatch(/partition byok-prod, Crypto User/);
  });

  it('gives the pkcs11-tool command that creates the key sensitive and never extractable', () => {
    const ref = pkcs11Module.parseKeyRef('pkcs11:token=acme-hsm;object=acme-cmk');
    const { cli } = onboarding.grant('acme', 'cu', ref);
    const keygen = cli.split('\n').find((l) => l.includes('--keygen')) ?? '';
    expect(keygen).toContain("--token-label 'acme-hsm'");
    expect(keygen).toContain("--label 'acme-cmk'");
    expect(keygen).toContain('--key-type AES:32');
    expect(keygen).toContain('--sensitive');
    expect(keygen).not.toContain('--extractable');
    expect(keygen).not.toMatch(/--pin\b/);
    expect(cli).toMatch(/CKA_ENCRYPT and CKA_DECRYPT .* false/);
  });

  it('quotes labels for the shell, so a label cannot run a command', () => {
    const ref = pkcs11Module.parseKeyRef("pkcs11:token=t;object=it's%20$(rm%20-rf)");
    const { cli } = onboarding.grant('acme', 'cu', ref);
    expect(cli).toContain(`--label 'it'\\''s $(rm -rf)'`);
  });

  it('uses placeholders when the customer has not named the key yet', () => {
    const { grant, cli } = onboarding.grant('acme', 'cu', undefined);
    expect(grant).toMatchObject({ token: TOKEN_PLACEHOLDER, label: KEY_PLACEHOLDER });
    expect(grant.keyRef).toBe('pkcs11:token=<TOKEN_LABEL>;object=<KEY_LABEL>');
    expect(cli).toContain(`--label ${KEY_PLACEHOLDER}`);
    expect(PKCS11_KEY_TEMPLATE.CKA_EXTRACTABLE).toBe(false);
  });
});
