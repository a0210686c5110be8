import { describeKmsProvider } from '@byok/kms/conformance';
import { pkcs11Module, type Pkcs11KmsProvider } from '../src/index.js';
import { createSoftHsmToken } from '../src/testing/index.js';
import { describeWithSoftHsm } from './softhsm-suite.js';

describeWithSoftHsm('pkcs11 on SoftHSMv2', () => {
  describeKmsProvider('pkcs11: SoftHSMv2 AES-256 keys, CKM_AES_GCM, built by the module', async () => {
    const token = await createSoftHsmToken();
    const a = await token.createKey('tenant-a cmk');
    const b = await token.createKey('tenant-b cmk');
    const provider = (await pkcs11Module.create(
      pkcs11Module.configSchema.parse({
        PKCS11_MODULE: token.modulePath,
        PKCS11_PIN_FILE: token.pinFile,
        PKCS11_SESSIONS: '2',
      }),
      { timeoutMs: 5000, production: true, dataDir: '/nonexistent' },
    )) as Pkcs11KmsProvider;
    return {
      provider,
      keyRef: a,
      otherKeyRef: b,
      missingKeyRef: token.keyRef('no such key'),
      disable: (ref) => token.disable(ref),
      enable: (ref) => token.enable(ref),
      close: async () => {
        await provider.close();
        await token.destroy();
      },
    };
  });
});
