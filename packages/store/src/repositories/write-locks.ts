import type { Db } from './db.js';

/**
 * Transaction-scoped advisory locks for writes whose row may not exist yet. `SELECT ... FOR UPDATE`
 * locks nothing when no row matches, so two first writers of one secret (or two changes of one
 * tenant's keys, where one inserts a version the other never read) would both pass their checks.
 * These lock a name instead of a row; PostgreSQL releases them at COMMIT or ROLLBACK.
 */
export const writeLocks = {
  /** Serialises writers of one secret of one tenant until the transaction ends. */
  async secret(tx: Db, tenantId: string, name: string): Promise<void> {
    await lock(tx, `byok/secret/${tenantId}/${name}`);
  },

  /**
   * Serialises changes of one tenant's key set (CMK registration or change, new tenant-key
   * versions) until the transaction ends.
   */
  async tenantKeys(tx: Db, tenantId: string): Promise<void> {
    await lock(tx, `byok/tenant-keys/${tenantId}`);
  },
};

// A 64-bit hash of the name: a collision only makes two unrelated writers wait for each other.
async function lock(tx: Db, name: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [name]);
}
