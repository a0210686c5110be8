import type { Db } from './db.js';

/** A trusted checkpoint public key as stored (public keys only). */
export interface AuditPublicKeyRow {
  key_id: string;
  algorithm: 'Ed25519';
  public_key_pem: string;
  valid_from: Date;
  valid_until: Date | null;
}

/** The keyring of audit checkpoint signing keys (public halves) and their validity periods. */
export const auditKeyRepository = {
  /**
   * Adds an instance's signing key at start. A key id seen for the first time closes every key
   * still open (valid_until = now() + 1 minute, the grace for a checkpoint being signed right
   * now by an instance still on the old key): that is a rotation. A key already present is left
   * as it is, so an instance restarting with an older key never reopens it or closes a newer one.
   * (Two different new keys registered at the same instant may both stay open: both are keys the
   * operator installed.) Returns whether the key was new.
   */
  async register(db: Db, key: { keyId: string; publicKeyPem: string }): Promise<boolean> {
    const { rows } = await db.query<{ added: boolean }>(
      `WITH ins AS (
         INSERT INTO audit_public_keys (key_id, algorithm, public_key_pem)
         VALUES ($1, 'Ed25519', $2)
         ON CONFLICT (key_id) DO NOTHING RETURNING key_id
       ), closed AS (
         UPDATE audit_public_keys SET valid_until = now() + interval '1 minute'
         WHERE valid_until IS NULL AND key_id <> $1 AND EXISTS (SELECT 1 FROM ins)
         RETURNING key_id
       )
       SELECT EXISTS (SELECT 1 FROM ins) AS added, (SELECT count(*) FROM closed) AS closed`,
      [key.keyId, key.publicKeyPem],
    );
    return rows[0]?.added === true;
  },

  /** True when `keyId` has been closed by a rotation (or is unknown): it must not sign any more. */
  async isRetired(db: Db, keyId: string): Promise<boolean> {
    const { rows } = await db.query<{ open: boolean }>(
      'SELECT valid_until IS NULL AS open FROM audit_public_keys WHERE key_id = $1',
      [keyId],
    );
    return rows[0]?.open !== true;
  },

  /** Every key of the keyring, oldest first. */
  async list(db: Db): Promise<AuditPublicKeyRow[]> {
    const { rows } = await db.query<AuditPublicKeyRow>(
      'SELECT key_id, algorithm, public_key_pem, valid_from, valid_until FROM audit_public_keys ORDER BY valid_from, key_id',
    );
    return rows;
  },
};
