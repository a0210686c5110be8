import { aesGcmWith } from './aes-gcm.js';
import { loadNativeBackend, nodeBackend, type EnvelopeBackend } from './backend.js';
import { envelopeWith } from './envelope.js';
import { InvalidArgumentError } from './errors.js';

/** The backends a process can select. */
export type EnvelopeBackendName = EnvelopeBackend['name'];

/** Which backend the envelope runs on. */
export interface EnvelopeBackendInfo {
  name: EnvelopeBackendName;
  /** The OpenSSL the native backend calls, e.g. "OpenSSL 3.0.19 ...". */
  openssl?: string;
}

interface Active {
  info: EnvelopeBackendInfo;
  envelope: ReturnType<typeof envelopeWith>;
  aesGcm: ReturnType<typeof aesGcmWith>;
}

const bind = (backend: EnvelopeBackend, info: EnvelopeBackendInfo): Active => ({
  info,
  envelope: envelopeWith(backend),
  aesGcm: aesGcmWith(backend),
});

let active: Active = bind(nodeBackend, { name: 'node' });

/**
 * Selects the backend `seal`, `open` and `aesGcm` run on, for the whole process (the key service
 * calls it once at start with `ENVELOPE_BACKEND`). `native` must be built and pass its self-test;
 * otherwise this throws and nothing changes: an operator who asked for it learns at start, rather
 * than running on a backend they did not choose.
 */
export function useEnvelopeBackend(name: EnvelopeBackendName): EnvelopeBackendInfo {
  if (name === 'node') {
    active = bind(nodeBackend, { name: 'node' });
    return active.info;
  }
  const native = loadNativeBackend();
  if ('reason' in native)
    throw new InvalidArgumentError(`native envelope backend unavailable: ${native.reason}`);
  active = bind(native.backend, { name: 'native', openssl: native.openssl });
  return active.info;
}

/** Which backend the envelope runs on now. */
export function envelopeBackend(): EnvelopeBackendInfo {
  return active.info;
}

/** {@link envelopeWith}'s `seal` on the selected backend. */
export const seal: Active['envelope']['seal'] = (tenantKey, plaintext, params) =>
  active.envelope.seal(tenantKey, plaintext, params);

/** {@link envelopeWith}'s `open` on the selected backend. */
export const open: Active['envelope']['open'] = (tenantKey, ciphertext, params) =>
  active.envelope.open(tenantKey, ciphertext, params);

/** Our AES-256-GCM wrapper on the selected backend. */
export const aesGcm: Active['aesGcm'] = {
  seal: (key, iv, plaintext, aad) => active.aesGcm.seal(key, iv, plaintext, aad),
  open: (key, iv, ciphertext, tag, aad) => active.aesGcm.open(key, iv, ciphertext, tag, aad),
};
