import { createCipheriv, createDecipheriv, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import { hkdfSha256x64 } from './hkdf.js';

/** AES-256 key length in bytes. */
export const AES_KEY_BYTES = 32;
/** GCM IV length in bytes (96 bits: the only length GCM handles without an extra GHASH). */
export const GCM_IV_BYTES = 12;
/** GCM tag length in bytes; pinned so that truncated tags can never authenticate. */
export const GCM_TAG_BYTES = 16;

/**
 * The primitives `seal`/`open` run on. Two implementations give the same bytes (the tests run
 * every vector through both, and a differential test compares them on random and mutated input):
 * - `node`: node:crypto only (three createHmac + a Cipheriv). The default and the reference.
 * - `native`: one N-API call per seal/open on the OpenSSL Node links (native/envelope_native.c),
 *   algorithms fetched once, output written in place. Opt-in: built only by `build:native`,
 *   loaded only when selected, and used only after its known-answer self-test passes.
 * Lengths are checked by the callers; `open*` never returns unauthenticated bytes.
 */
export interface EnvelopeBackend {
  readonly name: 'native' | 'node';
  /** HKDF-SHA-256(ikm, salt, info) with L = 64, as key (T1) and commitment (T2). */
  hkdf64(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array): { key: Buffer; commitment: Buffer };
  /** AES-256-GCM (12-byte IV, 16-byte tag) into caller buffers. */
  gcmSeal(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    pt: Uint8Array,
    ctOut: Buffer,
    tagOut: Buffer,
  ): void;
  /** The plaintext, or undefined when the tag does not verify. */
  gcmOpen(
    key: Uint8Array,
    iv: Uint8Array,
    aad: Uint8Array,
    ct: Uint8Array,
    tag: Uint8Array,
  ): Buffer | undefined;
  /** HKDF from the tenant key, then GCM under T1 with `info` as AAD; writes T2 as the commitment. */
  sealRecord(
    tk: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    iv: Uint8Array,
    pt: Uint8Array,
    commitmentOut: Buffer,
    ctOut: Buffer,
    tagOut: Buffer,
  ): void;
  /** Checks the commitment in constant time, then decrypts; undefined on any mismatch. */
  openRecord(
    tk: Uint8Array,
    salt: Uint8Array,
    info: Uint8Array,
    iv: Uint8Array,
    commitment: Uint8Array,
    ct: Uint8Array,
    tag: Uint8Array,
  ): Buffer | undefined;
}

const GCM = 'aes-256-gcm';

/**
 * Memory of its own for plaintext and key bytes a backend writes. `allocUnsafe` would hand out a
 * slice of Node's shared 8 KiB pool, whose other slices go to unrelated code: zeroing our slice
 * then still leaves the slab alive as long as any of them, and a bug elsewhere (an overread, a
 * `.buffer` passed on) could expose it. Callers zero these buffers when done.
 */
const ownMemory = (size: number) => Buffer.allocUnsafeSlow(size);

const nodeGcmSeal: EnvelopeBackend['gcmSeal'] = (key, iv, aad, pt, ctOut, tagOut) => {
  const cipher = createCipheriv(GCM, key, iv, { authTagLength: GCM_TAG_BYTES });
  cipher.setAAD(aad);
  // Node cannot encrypt into a caller buffer: one update and one copy (slicing measured slower).
  const wrote = cipher.update(pt).copy(ctOut);
  cipher.final().copy(ctOut, wrote);
  cipher.getAuthTag().copy(tagOut);
};

const nodeGcmOpen: EnvelopeBackend['gcmOpen'] = (key, iv, aad, ct, tag) => {
  try {
    const decipher = createDecipheriv(GCM, key, iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const head = decipher.update(ct);
    // final() throws when the tag does not verify; `head` is then zeroed, never returned.
    try {
      const tail = decipher.final();
      if (tail.length === 0) return head;
      // Buffer.concat would take pooled memory for a small result (see ownMemory).
      const pt = ownMemory(head.length + tail.length);
      head.copy(pt);
      tail.copy(pt, head.length);
      head.fill(0);
      tail.fill(0);
      return pt;
    } catch {
      head.fill(0);
      return undefined;
    }
  } catch {
    return undefined;
  }
};

/** The node:crypto backend: the default, and the reference the native one is tested against. */
export const nodeBackend: EnvelopeBackend = {
  name: 'node',
  hkdf64: hkdfSha256x64,
  gcmSeal: nodeGcmSeal,
  gcmOpen: nodeGcmOpen,
  sealRecord(tk, salt, info, iv, pt, commitmentOut, ctOut, tagOut) {
    const { key, commitment } = hkdfSha256x64(tk, salt, info);
    try {
      commitment.copy(commitmentOut);
      nodeGcmSeal(key, iv, info, pt, ctOut, tagOut);
    } finally {
      key.fill(0);
      commitment.fill(0);
    }
  },
  openRecord(tk, salt, info, iv, commitment, ct, tag) {
    const derived = hkdfSha256x64(tk, salt, info);
    try {
      // Checked before decrypting: a ciphertext valid under two keys cannot pass for both.
      if (!timingSafeEqual(derived.commitment, commitment)) return undefined;
      return nodeGcmOpen(derived.key, iv, info, ct, tag);
    } finally {
      derived.key.fill(0);
      derived.commitment.fill(0);
    }
  },
};

/**
 * What the addon exports (native/envelope_native.c): the backend's seal functions as they are;
 * its open functions fill a caller-allocated `ptOut` and say whether the tag verified.
 */
type NativeAddon = Pick<EnvelopeBackend, 'gcmSeal' | 'sealRecord'> & {
  readonly openssl: string;
  hkdf64(...args: [...Parameters<EnvelopeBackend['hkdf64']>, out64: Uint8Array]): void;
  gcmOpen(...args: [...Parameters<EnvelopeBackend['gcmOpen']>, ptOut: Uint8Array]): boolean;
  openRecord(...args: [...Parameters<EnvelopeBackend['openRecord']>, ptOut: Uint8Array]): boolean;
};

function wrapAddon(addon: NativeAddon): EnvelopeBackend {
  return {
    name: 'native',
    hkdf64(ikm, salt, info) {
      const okm = ownMemory(64);
      addon.hkdf64(ikm, salt, info, okm);
      return { key: okm.subarray(0, 32), commitment: okm.subarray(32) };
    },
    gcmSeal: addon.gcmSeal,
    gcmOpen(key, iv, aad, ct, tag) {
      const pt = ownMemory(ct.byteLength);
      if (addon.gcmOpen(key, iv, aad, ct, tag, pt)) return pt;
      pt.fill(0);
      return undefined;
    },
    sealRecord: addon.sealRecord,
    openRecord(tk, salt, info, iv, commitment, ct, tag) {
      const pt = ownMemory(ct.byteLength);
      if (addon.openRecord(tk, salt, info, iv, commitment, ct, tag, pt)) return pt;
      pt.fill(0);
      return undefined;
    },
  };
}

/**
 * Known-answer self-test: the addon must seal exactly as node:crypto does, open its own output,
 * and refuse a flipped bit. A mismatch (an odd OpenSSL, a bad build) means: do not use it.
 */
function selfTest(native: EnvelopeBackend): string | undefined {
  const bytes = (n: number, seed: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
  const [tk, salt, info, iv, pt] = [bytes(32, 1), bytes(32, 2), bytes(77, 3), bytes(12, 4), bytes(100, 5)];
  const sealed = (b: EnvelopeBackend) => {
    const out = Buffer.alloc(32 + pt.length + GCM_TAG_BYTES);
    b.sealRecord(
      tk,
      salt,
      info,
      iv,
      pt,
      out.subarray(0, 32),
      out.subarray(32, 32 + pt.length),
      out.subarray(-16),
    );
    return out;
  };
  const want = sealed(nodeBackend);
  const got = sealed(native);
  if (!got.equals(want)) return 'self-test: native output differs from node:crypto';
  const open = (c: Buffer) =>
    native.openRecord(tk, salt, info, iv, c.subarray(0, 32), c.subarray(32, 32 + pt.length), c.subarray(-16));
  if (!open(got)?.equals(pt)) return 'self-test: native cannot open its own output';
  got[40] = (got[40] as number) ^ 1;
  if (open(got) !== undefined) return 'self-test: native opened a tampered ciphertext';
  return undefined;
}

/** Why the native backend cannot be used, or it and the OpenSSL it calls. */
export type NativeLoad = { backend: EnvelopeBackend; openssl: string } | { reason: string };

let nativeLoad: NativeLoad | undefined;

/**
 * Loads the addon and runs its self-test, once, and only when asked: the addon is opt-in
 * (`ENVELOPE_BACKEND=native`), so a process on the default backend never loads native code.
 */
export function loadNativeBackend(): NativeLoad {
  if (nativeLoad) return nativeLoad;
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)('../build/Release/envelope_native.node') as NativeAddon;
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    nativeLoad = {
      reason: `addon not loadable (${why}); build it with \`pnpm --filter @byok/envelope build:native\``,
    };
    return nativeLoad;
  }
  const backend = wrapAddon(addon);
  const reason = selfTest(backend);
  nativeLoad = reason === undefined ? { backend, openssl: addon.openssl } : { reason };
  return nativeLoad;
}
