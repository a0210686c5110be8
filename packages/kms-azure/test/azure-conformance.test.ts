import { describeKmsProvider } from '@byok/kms/conformance';
import { startAzureTestBed, uniqueName } from './azure-test-harness.js';

describeKmsProvider('azure-kv: vault RSA key, versionless id (emulator, official SDK, HTTPS)', async () => {
  const bed = await startAzureTestBed();
  const a = uniqueName('rsa');
  const b = uniqueName('rsa');
  bed.emu.createKey({ name: a, kty: 'RSA' });
  bed.emu.createKey({ name: b, kty: 'RSA', keySize: 3072 });
  return {
    provider: bed.provider,
    keyRef: bed.ref(a),
    otherKeyRef: bed.ref(b),
    missingKeyRef: bed.ref(uniqueName('missing')),
    disable: bed.disable,
    enable: bed.enable,
    close: bed.close,
  };
});

describeKmsProvider('azure-kv: vault RSA-HSM key, versioned id', async () => {
  const bed = await startAzureTestBed();
  const a = bed.emu.createKey({ name: uniqueName('rsa-hsm'), kty: 'RSA-HSM' });
  const b = bed.emu.createKey({ name: uniqueName('rsa-hsm'), kty: 'RSA-HSM' });
  return {
    provider: bed.provider,
    keyRef: bed.ref(a.name, a.version),
    otherKeyRef: bed.ref(b.name, b.version),
    missingKeyRef: bed.ref(a.name, '0123456789abcdef0123456789abcdef'),
    disable: bed.disable,
    enable: bed.enable,
    close: bed.close,
  };
});

describeKmsProvider('azure-kv: Managed HSM oct-HSM AES-256 key with A256KW', async () => {
  const bed = await startAzureTestBed();
  const a = uniqueName('hsm');
  const b = uniqueName('hsm');
  bed.emu.createKey({ name: a, kty: 'oct-HSM' });
  bed.emu.createKey({ name: b, kty: 'oct-HSM' });
  return {
    provider: bed.provider,
    keyRef: bed.ref(a),
    otherKeyRef: bed.ref(b),
    missingKeyRef: bed.ref(uniqueName('missing')),
    disable: bed.disable,
    enable: bed.enable,
    close: bed.close,
  };
});
