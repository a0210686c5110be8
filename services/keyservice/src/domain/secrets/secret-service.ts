import { createHmac, hkdfSync } from 'node:crypto';
import type { AuditDetailsFor } from '@byok/audit';
import { open, seal, zeroize, type Context } from '@byok/envelope';
import type { SecretKind } from '@byok/contract';
import { secretRepository, writeLocks, type Db, type SecretRow } from '@byok/store';
import { AppError } from '../../errors.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { CryptoService } from '../crypto/crypto-service.js';
import type { TenantKeyService } from '../keys/tenant-key-service.js';
import type { TenantView } from '../tenants/tenant-directory.js';
import { maskSecret } from './secret-hint.js';

/**
 * Keyed fingerprint: HMAC-SHA-256 under a key derived from the tenant key, so equal values are
 * visible as equal within a tenant key version without revealing anything to whoever lacks it.
 */
export function fingerprintSecret(tenantKey: Buffer, value: string): string {
  const k = Buffer.from(hkdfSync('sha256', tenantKey, Buffer.alloc(0), 'byok/secret-fingerprint/v1', 32));
  try {
    return `hmac-sha256:${createHmac('sha256', k).update(value, 'utf8').digest('hex').slice(0, 32)}`;
  } finally {
    zeroize(k);
  }
}

/**
 * The envelope context (AAD) every stored secret version is sealed under. Writing, revealing and
 * rotation's re-encryption all use this one function: a second definition that drifted would seal
 * secrets that never open again.
 */
export function secretContext(name: string, version: number, kind: string): Context {
  return { secret: name, version: String(version), kind };
}

/** Stores tenants' secrets (AI provider API keys first) as envelope ciphertexts. */
export class SecretService {
  constructor(
    private readonly db: Db,
    private readonly withTransaction: <T>(fn: (db: Db) => Promise<T>) => Promise<T>,
    private readonly keys: TenantKeyService,
    private readonly crypto: CryptoService,
    private readonly audit: AuditRecorder,
    /** Called after a secret's current version changed or it was deleted (caches of it are dropped everywhere). */
    private readonly changed: (tenantId: string, name: string) => Promise<void> = async () => undefined,
  ) {}

  /**
   * Stores a new version of `name` (version 1 for a new secret). No connection is held while the
   * KMS or the audit log is awaited; a concurrent writer of the same name gets CONFLICT.
   */
  async put(
    view: TenantView,
    actor: AuditActor,
    name: string,
    kind: SecretKind,
    value: string,
    labels: Record<string, string>,
    opts: { endpoint?: string | undefined } = {},
  ): Promise<SecretRow> {
    const tenantId = view.tenant.id;
    const plaintext = Buffer.from(value, 'utf8');
    try {
      const version = await secretRepository.nextVersion(this.db, tenantId, name);
      const sealed = await this.keys.use(view, 'current', actor, (key, tkVersion) => ({
        ciphertext: seal(key, plaintext, {
          tenantId,
          tkVersion,
          context: secretContext(name, version, kind),
        }),
        fingerprint: fingerprintSecret(key, value),
        tkVersion,
      }));
      await this.audit.record(actor, {
        tenantId,
        action: 'secret.put',
        outcome: 'success',
        resource: `tenants/${tenantId}/secrets/${name}`,
        details: { secretVersion: version, secretKind: kind },
      });
      const stored = await this.withTransaction(async (tx) => {
        // The row lock in nextVersion locks nothing while the secret does not exist yet: without
        // this lock two first writers would both pass the check and one would fail on the key.
        await writeLocks.secret(tx, tenantId, name);
        if ((await secretRepository.nextVersion(tx, tenantId, name)) !== version) {
          throw new AppError('CONFLICT', `secret ${name} was changed concurrently; retry`);
        }
        await secretRepository.putVersion(tx, {
          tenantId,
          name,
          version,
          kind,
          labels,
          ciphertext: sealed.ciphertext,
          tkVersion: sealed.tkVersion,
          hint: maskSecret(kind, value),
          fingerprint: sealed.fingerprint,
          endpoint: opts.endpoint ?? null,
        });
        const row = await secretRepository.get(tx, tenantId, name);
        if (!row) throw new AppError('INTERNAL');
        return row;
      });
      await this.changed(tenantId, name);
      return stored;
    } finally {
      zeroize(plaintext);
    }
  }

  /** Decrypts the current (or a given) version; audited before the value leaves. */
  async reveal(
    view: TenantView,
    actor: AuditActor,
    name: string,
    purpose: string | undefined,
    version?: number,
  ): Promise<{ value: string; version: number }> {
    const tenantId = view.tenant.id;
    const resource = `tenants/${tenantId}/secrets/${name}`;
    const refused = this.crypto.checkPurpose(view, actor, 'secret.reveal', resource, purpose);
    if (refused) await refused;
    const row = await secretRepository.getVersion(this.db, tenantId, name, version);
    if (!row) {
      await this.audit.record(actor, {
        tenantId,
        action: 'secret.reveal',
        outcome: 'failure',
        resource,
        errorCode: 'NOT_FOUND',
        ...(purpose ? { purpose } : {}),
      });
      throw new AppError('NOT_FOUND', `secret ${name}${version ? ` version ${version}` : ''} not found`);
    }
    const plaintext = await this.openVersion(view, actor, name, row, {
      action: 'secret.reveal',
      resource,
      purpose,
      details: { secretVersion: row.version },
    });
    try {
      return { value: plaintext.toString('utf8'), version: row.version };
    } finally {
      zeroize(plaintext);
    }
  }

  /**
   * Opens a stored version for use inside the service (the AI gateway injects it upstream): the
   * same audited path as reveal, under action `secret.use`, whose event commits before the value
   * is returned; if that audit write fails, nothing is returned and no call is made. The caller
   * has checked the purpose and zeroes the buffer after use.
   */
  async use(
    view: TenantView,
    actor: AuditActor,
    name: string,
    row: { version: number; kind: string; tkVersion: number; ciphertext: Buffer },
    purpose: string | undefined,
    details: AuditDetailsFor<'secret.use'>,
  ): Promise<Buffer> {
    const resource = `tenants/${view.tenant.id}/secrets/${name}`;
    return this.openVersion(view, actor, name, row, { action: 'secret.use', resource, purpose, details });
  }

  /** The one decrypt of a stored secret version (reveal and use): audited by `auditedOpen`. */
  private openVersion<A extends 'secret.reveal' | 'secret.use'>(
    view: TenantView,
    actor: AuditActor,
    name: string,
    row: { version: number; kind: string; tkVersion: number; ciphertext: Buffer },
    event: { action: A; resource: string; purpose: string | undefined; details: AuditDetailsFor<A> },
  ): Promise<Buffer> {
    const tenantId = view.tenant.id;
    return this.crypto.auditedOpen(
      view,
      actor,
      event,
      () => row.tkVersion,
      (key) => open(key, row.ciphertext, { tenantId, context: secretContext(name, row.version, row.kind) }),
    );
  }

  /** Deletes a secret and all its versions (audited first, so no deletion goes unrecorded). */
  async delete(view: TenantView, actor: AuditActor, name: string): Promise<boolean> {
    const tenantId = view.tenant.id;
    if (!(await secretRepository.get(this.db, tenantId, name))) return false;
    await this.audit.record(actor, {
      tenantId,
      action: 'secret.delete',
      outcome: 'success',
      resource: `tenants/${tenantId}/secrets/${name}`,
    });
    const deleted = await secretRepository.delete(this.db, tenantId, name);
    await this.changed(tenantId, name);
    return deleted;
  }
}
