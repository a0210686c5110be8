import { ck, ckrName, type Cryptoki, type Handle } from './pkcs11-library.js';

/** Why a caller stopped waiting for a session. */
export class SessionWaitAborted extends Error {
  override readonly name = 'SessionWaitAborted';
}

/** The pool was closed while the caller waited or before it asked. */
export class SessionPoolClosed extends Error {
  override readonly name = 'SessionPoolClosed';
}

interface Waiter {
  resolve(session: Handle): void;
  reject(err: Error): void;
}

/**
 * Up to `max` logged-in sessions on one token. A PKCS#11 session runs one operation at a time
 * (a second C_EncryptInit fails with CKR_OPERATION_ACTIVE), so each caller borrows a session for
 * the whole init + encrypt/decrypt sequence and gives it back; callers beyond `max` queue in order.
 */
export class TokenSessionPool {
  private readonly idle: Handle[] = [];
  private readonly waiters: Waiter[] = [];
  private opened = 0;
  private closed = false;

  constructor(
    private readonly lib: Cryptoki,
    /** The slot the token sits in. */
    readonly slot: Handle,
    /** Logs a fresh session in; the PIN stays with the caller. */
    private readonly login: (session: Handle) => void,
    private readonly max: number,
  ) {}

  /** Sessions currently open (idle and borrowed). */
  get size(): number {
    return this.opened;
  }

  /** Borrows a session, opening and logging in a new one while under `max`; waits otherwise. */
  async acquire(signal?: AbortSignal): Promise<Handle> {
    if (this.closed) throw new SessionPoolClosed('session pool is closed');
    const ready = this.idle.pop();
    if (ready) return ready;
    if (this.opened < this.max) {
      this.opened++;
      try {
        return this.openSession();
      } catch (err) {
        this.opened--;
        throw err;
      }
    }
    if (signal?.aborted) throw new SessionWaitAborted('gave up waiting for a PKCS#11 session');
    return new Promise<Handle>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new SessionWaitAborted('gave up waiting for a PKCS#11 session'));
      };
      const waiter: Waiter = {
        resolve: (s) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(s);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * Gives a session back. `reusable` false closes it (its state is unknown after an unexpected
   * failure); a queued caller then gets a freshly opened one.
   */
  release(session: Handle, reusable: boolean): void {
    if (this.closed || !reusable) {
      this.closeSession(session);
      this.opened--;
      if (!this.closed) this.serveWaiterWithNewSession();
      return;
    }
    const next = this.waiters.shift();
    if (next) next.resolve(session);
    else this.idle.push(session);
  }

  /** Closes idle sessions and refuses new borrowers; borrowed sessions close when given back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.reject(new SessionPoolClosed('session pool is closed'));
    for (const s of this.idle.splice(0)) {
      this.closeSession(s);
      this.opened--;
    }
  }

  private serveWaiterWithNewSession(): void {
    const next = this.waiters.shift();
    if (!next) return;
    this.opened++;
    try {
      next.resolve(this.openSession());
    } catch (err) {
      this.opened--;
      next.reject(err as Error);
    }
  }

  private openSession(): Handle {
    // Read-only is enough: we only use keys. Login state is per token for the whole process, so
    // only the first session really logs in; the others see CKR_USER_ALREADY_LOGGED_IN.
    const session = this.lib.C_OpenSession(this.slot, ck.CKF_SERIAL_SESSION);
    try {
      this.login(session);
    } catch (err) {
      if (ckrName(err) !== 'CKR_USER_ALREADY_LOGGED_IN') {
        this.closeSession(session);
        throw err;
      }
    }
    return session;
  }

  private closeSession(session: Handle): void {
    try {
      this.lib.C_CloseSession(session);
    } catch {
      // Already closed by the library (device removed, C_Finalize elsewhere): nothing left to free.
    }
  }
}
