import pkcs11js from 'pkcs11js';

/** The pkcs11js binding's namespace: constants (CKA_*, CKM_*, CKR_*) and the PKCS11 class. */
export const ck = pkcs11js;

/** One loaded Cryptoki library (the pkcs11js object). */
export type Cryptoki = InstanceType<typeof pkcs11js.PKCS11>;
/** An opaque PKCS#11 handle (slot, session or object) as pkcs11js gives it. */
export type Handle = Buffer;

interface Loaded {
  lib: Cryptoki;
  users: number;
  /** False when someone else in this process had already initialized the library: then we never finalize it. */
  ownsInit: boolean;
}

/**
 * Cryptoki is initialized once per process (PKCS#11 §5.4): a second C_Initialize fails and one
 * C_Finalize ends every user's sessions. Providers and the test helper in one process therefore
 * share one loaded library per module path, finalized when the last of them lets go.
 */
const loaded = new Map<string, Loaded>();

/** Loads and initializes the library at `modulePath` (or joins the one already loaded). Throws the binding's error. */
export function acquireLibrary(modulePath: string): Cryptoki {
  const have = loaded.get(modulePath);
  if (have) {
    have.users++;
    return have.lib;
  }
  const lib = new pkcs11js.PKCS11();
  lib.load(modulePath);
  let ownsInit = true;
  try {
    // The async C_Encrypt/C_Decrypt run on libuv's thread pool: the library must lock for itself.
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (err) {
    if (ckrName(err) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      lib.close();
      throw err;
    }
    ownsInit = false;
  }
  loaded.set(modulePath, { lib, users: 1, ownsInit });
  return lib;
}

/** Lets go of a library from {@link acquireLibrary}; the last user finalizes and unloads it. */
export function releaseLibrary(modulePath: string): void {
  const have = loaded.get(modulePath);
  if (!have) return;
  if (--have.users > 0) return;
  loaded.delete(modulePath);
  try {
    if (have.ownsInit) have.lib.C_Finalize();
  } finally {
    have.lib.close();
  }
}

/** The `CKR_*` name of a pkcs11js error (`Pkcs11Error.message` is the name), else undefined. */
export function ckrName(err: unknown): string | undefined {
  const message = (err as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return undefined;
  return /^(CKR_[A-Z0-9_]+)/.exec(message)?.[1];
}

/** The token label from CK_TOKEN_INFO: blank-padded by the standard, NUL-padded by some libraries. */
export function tokenLabelOf(lib: Cryptoki, slot: Handle): string {
  return (lib.C_GetTokenInfo(slot).label.split('\u0000', 1)[0] ?? '').trimEnd();
}
