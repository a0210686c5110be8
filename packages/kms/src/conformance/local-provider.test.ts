import { MemoryLocalKeyStore, createLocalKmsProvider } from '../local/index.js';
import { parseKeyRef } from '../key-ref.js';
import { describeKmsProvider } from './index.js';

describeKmsProvider('local (memory store)', async () => {
  const store = new MemoryLocalKeyStore();
  await store.createKey('conformance-a');
  await store.createKey('conformance-b');
  return {
    provider: createLocalKmsProvider({ store }),
    keyRef: parseKeyRef('local', 'local:conformance-a'),
    otherKeyRef: parseKeyRef('local', 'local:conformance-b'),
    missingKeyRef: parseKeyRef('local', 'local:conformance-missing'),
    disable: (ref) => store.disableKey(ref.provider === 'local' ? ref.name : ''),
    enable: (ref) => store.enableKey(ref.provider === 'local' ? ref.name : ''),
  };
});
