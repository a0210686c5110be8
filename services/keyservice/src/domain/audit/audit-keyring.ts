import { readFile } from 'node:fs/promises';
import {
  keyringEntryJson,
  keyringOf,
  mergeKeyrings,
  parseKeyring,
  trustedKey,
  type CheckpointSigner,
  type Keyring,
  type KeyringEntryJson,
} from '@byok/audit';
import { auditKeyRepository, type Db } from '@byok/store';
import { AppError } from '../../errors.js';

/** Where the keys the service verifies checkpoints with come from. */
export type KeyringSource = 'database' | 'file';

/**
 * The keys checkpoints are verified with. Without a trusted keyring file: every signing key any
 * instance has registered in `audit_public_keys`, each with its validity period (read per call, so
 * a key another instance registered is known at once). With `AUDIT_TRUSTED_PUBLIC_KEYS_FILE`:
 * only that file and this instance's own key, so a row written into the table by someone with
 * database access is not trusted.
 */
export class AuditKeyring {
  private constructor(
    private readonly db: Db,
    private readonly signer: CheckpointSigner,
    private readonly file: Keyring | undefined,
  ) {}

  /** Registers `signer`'s public key (closing older keys when it is new) and reads the optional file. */
  static async start(opts: {
    db: Db;
    signer: CheckpointSigner;
    trustedKeysFile: string | undefined;
  }): Promise<{ keyring: AuditKeyring; rotated: boolean }> {
    let file: Keyring | undefined;
    if (opts.trustedKeysFile) {
      try {
        file = parseKeyring(await readFile(opts.trustedKeysFile, 'utf8'));
      } catch (err) {
        throw new AppError('INTERNAL', `cannot read the trusted keyring ${opts.trustedKeysFile}`, {
          cause: err,
        });
      }
    }
    const rotated = await auditKeyRepository.register(opts.db, {
      keyId: opts.signer.keyId,
      publicKeyPem: opts.signer.publicKeyPem,
    });
    return { keyring: new AuditKeyring(opts.db, opts.signer, file), rotated };
  }

  /**
   * True once a newer key has been registered by another instance: this instance then stops
   * signing (its checkpoints would fall outside its key's validity) until restarted with the new key.
   */
  signingKeyRetired(): Promise<boolean> {
    return auditKeyRepository.isRetired(this.db, this.signer.keyId);
  }

  /** Which source {@link current} trusts. */
  get source(): KeyringSource {
    return this.file ? 'file' : 'database';
  }

  /** The keyring in force now. */
  async current(): Promise<Keyring> {
    if (this.file) {
      // The own key is the private key the operator installed; the file's validity wins if it lists it.
      return mergeKeyrings(keyringOf([trustedKey(this.signer.publicKeyPem)]), this.file);
    }
    const rows = await auditKeyRepository.list(this.db);
    return keyringOf(
      rows.map((r) => trustedKey(r.public_key_pem, { validFrom: r.valid_from, validUntil: r.valid_until })),
    );
  }

  /** The keyring as JSON (public keys only), oldest first. */
  async list(): Promise<{ source: KeyringSource; signingKeyId: string; keys: Required<KeyringEntryJson>[] }> {
    const keys = [...(await this.current()).values()].map(keyringEntryJson);
    keys.sort(
      (a, b) => (a.validFrom ?? '').localeCompare(b.validFrom ?? '') || a.keyId.localeCompare(b.keyId),
    );
    return { source: this.source, signingKeyId: this.signer.keyId, keys };
  }
}
