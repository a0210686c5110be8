import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { KmsError } from '@byok/kms';
import {
  MODULE_PLACEHOLDER,
  createPkcs11KmsProvider,
  pkcs11Module,
  type Pkcs11KmsProvider,
} from '../src/index.js';
import { createSoftHsmToken, type SoftHsmToken } from '../src/testing/index.js';
import { describeWithSoftHsm } from './softhsm-suite.js';

const ctx = { tenant: 'acme', purpose: 'tenant-key', version: '1' };

describeWithSoftHsm(
  'pkcs11 onboarding commands run with pkcs11-tool against SoftHSMv2',
  () => {
    let token: SoftHsmToken;
    let pin: string;
    let provider: Pkcs11KmsProvider;

    beforeAll(async () => {
      token = await createSoftHsmToken();
      pin = (await readFile(token.pinFile, 'utf8')).trim();
      provider = createPkcs11KmsProvider({ modulePath: token.modulePath, pin });
    });
    afterAll(async () => {
      await provider?.close();
      await token?.destroy();
    });

    /** Runs one line of the grant's `cli` as the customer would, with the PIN given instead of typed. */
    function run(cli: string, marker: string): string {
      const line = cli.split('\n').find((l) => !l.startsWith('#') && l.includes(marker));
      if (!line) throw new Error(`no ${marker} line in the grant`);
      const command = `${line.replace(MODULE_PLACEHOLDER, token.modulePath)} --pin "$PKCS11_TEST_PIN" 2>&1`;
      return execFileSync('sh', ['-c', command], {
        encoding: 'utf8',
        env: { ...process.env, PKCS11_TEST_PIN: pin },
      });
    }

    it("creates with the grant's pkcs11-tool line a key the provider accepts, then destroys it", async () => {
      const ref = pkcs11Module.parseKeyRef(`pkcs11:token=${token.tokenLabel};object=acme%20cmk`);
      const { cli } = pkcs11Module.onboarding.grant('acme', 'crypto user', ref);
      run(cli, '--keygen');
      const listing = run(cli, '--list-objects');
      expect(listing).toMatch(/AES length 32/);
      expect(listing).toMatch(/never extractable/);
      expect(listing).toMatch(/Usage:.*encrypt, decrypt/);

      const key = ref;
      const dk = randomBytes(32);
      const { wrapped } = await provider.wrap(key, dk, ctx);
      expect(Buffer.from((await provider.unwrap(key, wrapped, ctx)).plaintext).equals(dk)).toBe(true);
      expect(await provider.describe(key)).toMatchObject({ state: 'enabled' });

      run(cli, '--delete-object');
      const err = await provider.unwrap(key, wrapped, ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KmsError);
      expect((err as KmsError).code).toBe('KEY_NOT_FOUND');
    });
  },
  true,
);
