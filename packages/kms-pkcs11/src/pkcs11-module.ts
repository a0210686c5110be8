import type { KmsProviderModule } from '@byok/kms';
import { pkcs11ConfigSchema, pkcs11ModuleSettings, type Pkcs11Config } from './pkcs11-config.js';
import {
  PKCS11_KEY_REF_FORMAT,
  PKCS11_PROVIDER,
  parsePkcs11KeyRef,
  type Pkcs11KeyRef,
} from './pkcs11-key-ref.js';
import { createPkcs11KmsProvider } from './pkcs11-kms-provider.js';
import { pkcs11Onboarding } from './pkcs11-onboarding.js';

/**
 * PKCS#11 HSMs (Thales Luna, Entrust nShield, Utimaco, AWS CloudHSM, YubiHSM, SoftHSMv2) as one
 * self-describing provider module: register it and `pkcs11:` key references work.
 */
export const pkcs11Module = {
  name: PKCS11_PROVIDER,
  title: 'PKCS#11 HSM',
  keyRefFormat: PKCS11_KEY_REF_FORMAT,
  parseKeyRef: parsePkcs11KeyRef,
  configSchema: pkcs11ConfigSchema,
  missingSettings: (config) =>
    (['PKCS11_MODULE', 'PKCS11_PIN_FILE'] as const).filter((name) => config[name] === undefined),
  async create(config, ctx) {
    const settings = await pkcs11ModuleSettings(config);
    return createPkcs11KmsProvider({ ...settings, timeoutMs: ctx.timeoutMs });
  },
  onboarding: pkcs11Onboarding,
  health: true,
} satisfies KmsProviderModule<Pkcs11KeyRef, Pkcs11Config>;
