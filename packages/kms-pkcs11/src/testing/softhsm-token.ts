import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyRefBase } from '@byok/kms';
import { parsePkcs11KeyRef, pkcs11Uri, type Pkcs11KeyRef } from '../pkcs11-key-ref.js';
import {
  acquireLibrary,
  ck,
  ckrName,
  releaseLibrary,
  tokenLabelOf,
  type Cryptoki,
  type Handle,
} from '../pkcs11-library.js';

/** Where Debian's `softhsm2` package puts the library. */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** True when the SoftHSMv2 library is installed at `modulePath`. */
export function softHsmAvailable(modulePath = SOFTHSM_MODULE): boolean {
  return existsSync(modulePath);
}

/** Options of {@link createSoftHsmToken}. */
export interface SoftHsmTokenOptions {
  /** Token label (default `byok-test-<random>`). */
  label?: string;
  /** Library path (default {@link SOFTHSM_MODULE}). */
  modulePath?: string;
}

/** Key attributes a test may get wrong on purpose, to see the provider refuse the key. */
export interface TestKeyOptions {
  /** CKA_EXTRACTABLE (default false). */
  extractable?: boolean;
  /** Key length in bytes (default 32). */
  bytes?: 16 | 24 | 32;
}

/** A fresh SoftHSMv2 token with a random PIN in a file, and the customer's side of key administration. */
export interface SoftHsmToken {
  modulePath: string;
  /** A file holding the user PIN (mode 0600), for `PKCS11_PIN_FILE`. */
  pinFile: string;
  tokenLabel: string;
  /** The reference of key `label` on this token (whether or not it exists). */
  keyRef(label: string): Pkcs11KeyRef;
  /** Generates an AES key inside the token as the onboarding grant describes it. */
  createKey(label: string, options?: TestKeyOptions): Promise<Pkcs11KeyRef>;
  /** Sets CKA_ENCRYPT and CKA_DECRYPT to false: how a customer disables an HSM key. */
  disable(ref: KeyRefBase): Promise<void>;
  /** Sets CKA_ENCRYPT and CKA_DECRYPT back to true. */
  enable(ref: KeyRefBase): Promise<void>;
  /** Destroys the key object (crypto-shredding). */
  destroyKey(ref: KeyRefBase): Promise<void>;
  /** Lets go of the library and deletes the PIN file; the token stays in SoftHSM's token directory. */
  destroy(): Promise<void>;
}

const CKF_TOKEN_INITIALIZED = 0x400;

function findSlot(lib: Cryptoki, label: string): Handle | undefined {
  return lib.C_GetSlotList(true).find((s) => tokenLabelOf(lib, s) === label);
}

/**
 * Initializes a new token on SoftHSM's free slot, in this process, sharing the process's one
 * Cryptoki initialization with any provider here. SoftHSM reads `SOFTHSM2_CONF` from the real
 * environment when the library initializes: the Jest global setup points it at a temporary token
 * directory, and a service started by a test inherits it. A token made here is visible to other
 * processes that initialize the library after this call.
 */
export async function createSoftHsmToken(options: SoftHsmTokenOptions = {}): Promise<SoftHsmToken> {
  const modulePath = options.modulePath ?? SOFTHSM_MODULE;
  const tokenLabel = options.label ?? `byok-test-${randomBytes(4).toString('hex')}`;
  const pin = randomBytes(8).toString('hex');
  const soPin = randomBytes(8).toString('hex');
  const lib = acquireLibrary(modulePath);
  let dir: string | undefined;
  try {
    const free = lib
      .C_GetSlotList(true)
      .find((s) => (lib.C_GetTokenInfo(s).flags & CKF_TOKEN_INITIALIZED) === 0);
    if (!free) throw new Error('SoftHSM has no free slot (was the library initialized before?)');
    lib.C_InitToken(free, soPin, tokenLabel.padEnd(32, ' '));
    const slot = findSlot(lib, tokenLabel);
    if (!slot) throw new Error(`token ${tokenLabel} not found after C_InitToken`);
    const so = lib.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
    try {
      lib.C_Login(so, ck.CKU_SO, soPin);
      lib.C_InitPIN(so, pin);
      lib.C_Logout(so);
    } finally {
      lib.C_CloseSession(so);
    }
    dir = await mkdtemp(join(tmpdir(), 'byok-pkcs11-pin-'));
    const pinFile = join(dir, 'pin');
    await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
    return tokenHandle(lib, modulePath, slot, tokenLabel, pin, pinFile, dir);
  } catch (err) {
    if (dir) await rm(dir, { recursive: true, force: true });
    releaseLibrary(modulePath);
    throw err;
  }
}

function tokenHandle(
  lib: Cryptoki,
  modulePath: string,
  slot: Handle,
  tokenLabel: string,
  pin: string,
  pinFile: string,
  dir: string,
): SoftHsmToken {
  let released = false;

  /** Runs `fn` in a read-write user session that is closed afterwards (so no login lingers). */
  function admin<T>(fn: (session: Handle) => T): T {
    const session = lib.C_OpenSession(slot, ck.CKF_SERIAL_SESSION | ck.CKF_RW_SESSION);
    try {
      try {
        lib.C_Login(session, ck.CKU_USER, pin);
      } catch (err) {
        if (ckrName(err) !== 'CKR_USER_ALREADY_LOGGED_IN') throw err;
      }
      return fn(session);
    } finally {
      lib.C_CloseSession(session);
    }
  }

  function keyOf(session: Handle, ref: KeyRefBase): Handle {
    const { objectLabel } = parsePkcs11KeyRef(ref.uri);
    lib.C_FindObjectsInit(session, [
      { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
      { type: ck.CKA_LABEL, value: Buffer.from(objectLabel, 'utf8') },
    ]);
    try {
      const [key] = lib.C_FindObjects(session, 1);
      if (!key) throw new Error(`no key ${ref.uri}`);
      return key;
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  }

  const setUsage = (ref: KeyRefBase, on: boolean) =>
    admin((s) =>
      lib.C_SetAttributeValue(s, keyOf(s, ref), [
        { type: ck.CKA_ENCRYPT, value: on },
        { type: ck.CKA_DECRYPT, value: on },
      ]),
    );

  return {
    modulePath,
    pinFile,
    tokenLabel,
    keyRef: (label) => parsePkcs11KeyRef(pkcs11Uri(tokenLabel, label)),
    async createKey(label, options = {}) {
      admin((s) =>
        lib.C_GenerateKey(s, { mechanism: ck.CKM_AES_KEY_GEN }, [
          { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
          { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
          { type: ck.CKA_VALUE_LEN, value: options.bytes ?? 32 },
          { type: ck.CKA_LABEL, value: Buffer.from(label, 'utf8') },
          { type: ck.CKA_TOKEN, value: true },
          { type: ck.CKA_PRIVATE, value: true },
          { type: ck.CKA_SENSITIVE, value: true },
          { type: ck.CKA_EXTRACTABLE, value: options.extractable ?? false },
          { type: ck.CKA_ENCRYPT, value: true },
          { type: ck.CKA_DECRYPT, value: true },
          { type: ck.CKA_MODIFIABLE, value: true },
        ]),
      );
      return parsePkcs11KeyRef(pkcs11Uri(tokenLabel, label));
    },
    disable: async (ref) => setUsage(ref, false),
    enable: async (ref) => setUsage(ref, true),
    destroyKey: async (ref) => admin((s) => lib.C_DestroyObject(s, keyOf(s, ref))),
    async destroy() {
      if (released) return;
      released = true;
      releaseLibrary(modulePath);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
