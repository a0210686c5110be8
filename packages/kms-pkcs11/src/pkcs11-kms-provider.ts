import { randomBytes } from 'node:crypto';
import { canonicalContext } from '@byok/envelope';
import {
  KmsError,
  type CallOptions,
  type EncryptionContext,
  type KeyHealth,
  type KeyHealthCapability,
  ownKeyRef,
  type KeyRefBase,
  type KmsProvider,
  type UnwrapResult,
  type WrapResult,
} from '@byok/kms';
import { bool, findAesKey, gcm } from './pkcs11-key-lookup.js';
import { mapPkcs11Error, sessionLost, type Pkcs11Step } from './pkcs11-error-mapper.js';
import { PKCS11_PROVIDER, type Pkcs11KeyRef } from './pkcs11-key-ref.js';
import {
  acquireLibrary,
  ck,
  ckrName,
  releaseLibrary,
  tokenLabelOf,
  type Cryptoki,
  type Handle,
} from './pkcs11-library.js';
import { SessionPoolClosed, SessionWaitAborted, TokenSessionPool } from './pkcs11-session-pool.js';
import {
  IV_BYTES,
  MAX_DATA_KEY_BYTES,
  TAG_BYTES,
  decodePkcs11Blob,
  encodePkcs11Blob,
} from './pkcs11-wrapped-blob.js';

/** Options for {@link createPkcs11KmsProvider}. */
export interface Pkcs11KmsProviderOptions {
  /** Path of the vendor's PKCS#11 library (`/usr/lib/softhsm/libsofthsm2.so`). */
  modulePath: string;
  /** The crypto user's PIN; kept in this closure only, never logged or put in an error. */
  pin: string;
  /** Sessions per token (default 4): the most concurrent HSM operations on one token. */
  sessionsPerToken?: number;
  /** Deadline per call when the caller gives none (default 10000 ms). */
  timeoutMs?: number;
}

/** The PKCS#11 provider: wrap/unwrap, key health, and close (sessions, logout, C_Finalize). */
export type Pkcs11KmsProvider = KmsProvider & KeyHealthCapability & { close(): Promise<void> };

/** Login results that mean the PIN itself is wrong or unusable. */
const PIN_REFUSED = new Set([
  'CKR_PIN_INCORRECT',
  'CKR_PIN_INVALID',
  'CKR_PIN_LEN_RANGE',
  'CKR_PIN_EXPIRED',
  'CKR_PIN_LOCKED',
]);

function misconfigured(message: string, keyRef?: string, operation?: string, cause?: unknown): KmsError {
  return new KmsError('KMS_MISCONFIGURED', message, { provider: PKCS11_PROVIDER, keyRef, operation, cause });
}

function pkcs11Ref(ref: KeyRefBase, operation: string): Pkcs11KeyRef {
  return ownKeyRef<Pkcs11KeyRef>(PKCS11_PROVIDER, ref, operation);
}

/**
 * Creates the PKCS#11 provider. Data keys are sealed with CKM_AES_GCM inside the HSM under an
 * AES-256 key that is CKA_SENSITIVE and not extractable (the provider refuses any other), with a
 * random 96-bit IV and the canonical JSON of the encryption context as AAD. Encrypt and decrypt
 * run on the thread pool (pkcs11js `C_EncryptAsync`/`C_DecryptAsync`); the short calls around them
 * (find, init, attributes) are synchronous in the binding.
 */
export function createPkcs11KmsProvider(options: Pkcs11KmsProviderOptions): Pkcs11KmsProvider {
  const { modulePath, pin } = options;
  const sessionsPerToken = options.sessionsPerToken ?? 4;
  const defaultTimeoutMs = options.timeoutMs ?? 10_000;
  if (pin.length === 0) throw misconfigured('pkcs11: the PIN is empty');
  let lib: Cryptoki;
  try {
    lib = acquireLibrary(modulePath);
  } catch (err) {
    const why = ckrName(err) ?? (err as Error).message;
    throw misconfigured(
      `pkcs11: cannot load the PKCS#11 module ${modulePath}: ${why}`,
      undefined,
      'load',
      err,
    );
  }
  const pools = new Map<string, TokenSessionPool>();
  const inflight = new Set<Promise<void>>();
  /** Tokens that refused our PIN, with the CKR name: the same PIN is never tried again (see below). */
  const refusedPin = new Map<string, string>();
  let closed = false;

  function poolFor(r: Pkcs11KeyRef, operation: string): TokenSessionPool {
    const have = pools.get(r.tokenLabel);
    if (have) return have;
    const slots = lib.C_GetSlotList(true).filter((s) => tokenLabelOf(lib, s) === r.tokenLabel);
    if (slots.length === 0) {
      // A partition we cannot see is one we are not granted (or no longer): fail closed.
      throw new KmsError(
        'KMS_ACCESS_DENIED',
        `pkcs11 ${operation}: no token labelled "${r.tokenLabel}" is visible to this service`,
        { provider: PKCS11_PROVIDER, keyRef: r.uri, operation },
      );
    }
    if (slots.length > 1) {
      throw misconfigured(
        `pkcs11 ${operation}: ${slots.length} tokens are labelled "${r.tokenLabel}"`,
        r.uri,
        operation,
      );
    }
    const pool = new TokenSessionPool(
      lib,
      slots[0] as Handle,
      (session) => lib.C_Login(session, ck.CKU_USER, pin),
      sessionsPerToken,
    );
    pools.set(r.tokenLabel, pool);
    return pool;
  }

  function dropPool(tokenLabel: string): void {
    pools.get(tokenLabel)?.close();
    pools.delete(tokenLabel);
  }

  function aadOf(ctx: EncryptionContext, r: Pkcs11KeyRef, operation: string): Buffer {
    try {
      return Buffer.from(canonicalContext(ctx), 'utf8');
    } catch (err) {
      throw misconfigured(`pkcs11 ${operation}: ${(err as Error).message}`, r.uri, operation);
    }
  }

  function callSignal(opts: CallOptions | undefined): { signal: AbortSignal; ms: number } {
    const ms = opts?.timeoutMs ?? defaultTimeoutMs;
    const timeout = AbortSignal.timeout(ms);
    return { signal: opts?.signal ? AbortSignal.any([opts.signal, timeout]) : timeout, ms };
  }

  /**
   * Borrows a session on the reference's token, runs `body` in it and maps any failure. A call
   * that outlives its deadline is answered at once with KMS_UNAVAILABLE; its session goes back to
   * the pool only when the HSM has finished with it, and a late plaintext is zeroed by `abandon`.
   */
  async function withSession<T>(
    ref: KeyRefBase,
    operation: string,
    opts: CallOptions | undefined,
    body: (session: Handle, r: Pkcs11KeyRef, at: { step: Pkcs11Step }) => Promise<T>,
    abandon?: (late: T) => void,
  ): Promise<T> {
    const r = pkcs11Ref(ref, operation);
    const details = { provider: PKCS11_PROVIDER, keyRef: r.uri, operation };
    if (closed) throw new KmsError('KMS_UNAVAILABLE', `pkcs11 ${operation}: provider is closed`, details);
    const { signal, ms } = callSignal(opts);
    const timedOut = () =>
      new KmsError(
        'KMS_UNAVAILABLE',
        `pkcs11 ${operation} with ${r.uri} gave no answer within ${ms} ms`,
        details,
      );
    const refusal = refusedPin.get(r.tokenLabel);
    if (refusal) {
      throw new KmsError(
        'KMS_ACCESS_DENIED',
        `pkcs11 ${operation}: token "${r.tokenLabel}" refused the PIN earlier (${refusal}); not tried again so the HSM does not lock the user: fix PKCS11_PIN_FILE and restart`,
        details,
      );
    }
    const at: { step: Pkcs11Step } = { step: 'token' };
    let pool: TokenSessionPool;
    let session: Handle;
    try {
      pool = poolFor(r, operation);
      at.step = 'login';
      session = await pool.acquire(signal);
    } catch (err) {
      if (sessionLost(err)) dropPool(r.tokenLabel);
      // The PIN is read once at start, so a refused PIN stays wrong; HSMs lock the user (Luna:
      // the partition) after a few bad logins, so one refusal stops all further attempts.
      const name = ckrName(err);
      if (at.step === 'login' && name && PIN_REFUSED.has(name)) refusedPin.set(r.tokenLabel, name);
      if (err instanceof SessionWaitAborted) throw timedOut();
      if (err instanceof SessionPoolClosed)
        throw new KmsError('KMS_UNAVAILABLE', `pkcs11 ${operation}: pool closed`, details);
      throw mapPkcs11Error(err, { keyRef: r.uri, operation, step: at.step });
    }
    at.step = 'find';
    const work = body(session, r, at);
    let answered = false;
    const settled = work.then(
      (value) => {
        if (answered && abandon) abandon(value);
        pool.release(session, true);
      },
      (err: unknown) => {
        if (sessionLost(err)) dropPool(r.tokenLabel);
        // A Cryptoki error ends the operation and leaves the session clean; anything else may not.
        pool.release(session, !sessionLost(err) && (ckrName(err) !== undefined || err instanceof KmsError));
      },
    );
    inflight.add(settled);
    void settled.finally(() => inflight.delete(settled));
    let onAbort = () => undefined as void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(timedOut());
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([work, aborted]);
    } catch (err) {
      throw mapPkcs11Error(err, { keyRef: r.uri, operation, step: at.step });
    } finally {
      answered = true;
      signal.removeEventListener('abort', onAbort);
    }
  }

  return {
    name: PKCS11_PROVIDER,

    async wrap(
      ref: KeyRefBase,
      plaintext: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<WrapResult> {
      if (plaintext.byteLength < 1 || plaintext.byteLength > MAX_DATA_KEY_BYTES) {
        throw misconfigured(`pkcs11 wrap: data key must be 1-${MAX_DATA_KEY_BYTES} bytes`, ref.uri, 'wrap');
      }
      return withSession(ref, 'wrap', opts, async (session, r, at) => {
        const key = findAesKey(lib, session, r, 'wrap');
        const iv = randomBytes(IV_BYTES);
        at.step = 'init';
        lib.C_EncryptInit(session, gcm(iv, aadOf(ctx, r, 'wrap')), key);
        at.step = 'encrypt';
        const input = Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
        const out = Buffer.alloc(plaintext.byteLength + TAG_BYTES + 16);
        const sealed = await lib.C_EncryptAsync(session, input, out);
        if (sealed.length !== plaintext.byteLength + TAG_BYTES) {
          throw misconfigured(
            `pkcs11 wrap: the module returned ${sealed.length} bytes, not data key + GCM tag`,
            r.uri,
            'wrap',
          );
        }
        return { wrapped: encodePkcs11Blob(iv, sealed) };
      });
    },

    async unwrap(
      ref: KeyRefBase,
      wrapped: Uint8Array,
      ctx: EncryptionContext,
      opts?: CallOptions,
    ): Promise<UnwrapResult> {
      const blob = decodePkcs11Blob(wrapped);
      if (!blob) {
        throw new KmsError('INVALID_CIPHERTEXT', `pkcs11 unwrap: not a wrapped blob of this provider`, {
          provider: PKCS11_PROVIDER,
          keyRef: ref.uri,
          operation: 'unwrap',
        });
      }
      return withSession(
        ref,
        'unwrap',
        opts,
        async (session, r, at) => {
          const key = findAesKey(lib, session, r, 'unwrap');
          at.step = 'init';
          lib.C_DecryptInit(session, gcm(blob.iv, aadOf(ctx, r, 'unwrap')), key);
          at.step = 'decrypt';
          const plaintext = await lib.C_DecryptAsync(session, blob.sealed, Buffer.alloc(blob.sealed.length));
          if (plaintext.length !== blob.sealed.length - TAG_BYTES) {
            plaintext.fill(0);
            throw misconfigured(
              `pkcs11 unwrap: the module returned a plaintext of the wrong length`,
              r.uri,
              'unwrap',
            );
          }
          return { plaintext };
        },
        (late) => late.plaintext.fill(0),
      );
    },

    async describe(ref: KeyRefBase, opts?: CallOptions): Promise<KeyHealth> {
      return withSession(ref, 'describe', opts, async (session, r, at) => {
        const key = findAesKey(lib, session, r, 'describe');
        at.step = 'attributes';
        const [encrypt, decrypt] = lib
          .C_GetAttributeValue(session, key, [{ type: ck.CKA_ENCRYPT }, { type: ck.CKA_DECRYPT }])
          .map((a) => bool(a.value));
        return {
          state: encrypt && decrypt ? 'enabled' : 'disabled',
          detail: `CKA_ENCRYPT=${encrypt} CKA_DECRYPT=${decrypt}`,
        };
      });
    },

    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      for (const label of [...pools.keys()]) dropPool(label);
      // Finalizing while an encrypt runs on the thread pool would pull the library from under it.
      await Promise.allSettled([...inflight]);
      releaseLibrary(modulePath);
    },
  } satisfies Pkcs11KmsProvider;
}
