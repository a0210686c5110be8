import { MemoryLocalKeyStore, createLocalKmsProvider, type LocalKeyRef } from '../local/index.js';
import { parseLocalKeyRef } from '../local/index.js';
import { describeKmsProvider } from './index.js';

describeKmsProvider('local (memory store)', async () => {
  const store = new MemoryLocalKeyStore();
  await store.createKey('conformance-a');
  await store.createKey('conformance-b');
  return {
    provider: createLocalKmsProvider({ store }),
    keyRef: parseLocalKeyRef('local:conformance-a'),
    otherKeyRef: parseLocalKeyRef('local:conformance-b'),
    missingKeyRef: parseLocalKeyRef('local:conformance-missing'),
    disable: (ref) => store.disableKey((ref as LocalKeyRef).name),
    enable: (ref) => store.enableKey((ref as LocalKeyRef).name),
  };
});
