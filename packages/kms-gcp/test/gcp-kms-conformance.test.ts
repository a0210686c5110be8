process.env.METADATA_SERVER_DETECTION = 'none';

import { describeKmsProvider } from '@byok/kms/conformance';
import type { GcpKeyRef } from '../src/index.js';
import { startGcpHarness } from './gcp-test-harness.js';

describeKmsProvider('gcp-kms: @google-cloud/kms (REST) against the Cloud KMS emulator', async () => {
  const h = await startGcpHarness();
  const keyRef = await h.newKey('conformance-a');
  const otherKeyRef = await h.newKey('conformance-b');
  const missingKeyRef: GcpKeyRef = {
    ...keyRef,
    cryptoKey: 'missing',
    cryptoKeyName: `${keyRef.cryptoKeyName}-missing`,
    uri: `${keyRef.cryptoKeyName}-missing`,
  };
  return {
    provider: h.provider,
    keyRef,
    otherKeyRef,
    missingKeyRef,
    // The customer's way: the SDK's updateCryptoKeyVersion on the primary version.
    disable: (ref) => h.setState(ref as GcpKeyRef, 'DISABLED'),
    enable: (ref) => h.setState(ref as GcpKeyRef, 'ENABLED'),
    close: () => h.close(),
  };
});
