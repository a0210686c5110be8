import { zeroize } from '@byok/envelope';
import { isKmsError, KmsError, type EncryptionContext, type KmsRegistry } from '@byok/kms';
import { tenantKeyRepository, tenantRepository, type Db } from '@byok/store';
import { AppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { KmsBreaker } from './kms-breaker.js';
import type { KmsBudget } from './kms-budget.js';
import type { TenantKeyCache } from './tenant-key-cache.js';
import type { TenantDirectory, TenantView } from '../tenants/tenant-directory.js';

/** The KMS encryption context of a tenant key: shows up in the customer's own KMS log. */
export function tenantKeyContext(tenantId: string, version: number): EncryptionContext {
  return { tenant: tenantId, purpose: 'tenant-key', version: String(version) };
}

/**
 * The context of a strict-mode copy bound to one access purpose: the purpose then appears in the
 * customer's KMS log, and the customer's key policy can allow or deny it.
 */
export function accessPurposeContext(tenantId: string, version: number, purpose: string): EncryptionContext {
  return { ...tenantKeyContext(tenantId, version), accessPurpose: purpose };
}

/** Dependencies of {@link TenantKeyService}. */
export interface TenantKeyServiceDeps {
  db: Db;
  withTransaction: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  registry: KmsRegistry;
  cache: TenantKeyCache;
  directory: TenantDirectory;
  audit: AuditRecorder;
  metrics: Metrics;
  logger: Logger;
  /** Called when a tenant's key was found revoked, so other instances can purge too. */
  onRevocation?: (tenantId: string) => void;
  /** Per-tenant circuit breaker around KMS calls. */
  breaker?: KmsBreaker;
  /** Per-tenant KMS call budget; past it the service answers KMS_THROTTLED without calling the KMS. */
  budget?: KmsBudget;
}

/**
 * Owns tenant keys: creates them under the customer's key (proving wrap + unwrap first), unwraps
 * them single-flight into the cache, audits every unwrap before the key is used, and purges on
 * revocation. There is no other key: no platform fallback exists (G3).
 */
export class TenantKeyService {
  private readonly inflight = new Map<string, Promise<void>>();

  constructor(private readonly d: TenantKeyServiceDeps) {}

  /**
   * Runs `fn` with the tenant key of `version` ('current' = the one new writes use). `fn` must be
   * synchronous: the key is only guaranteed unzeroed within the same tick.
   */
  async use<T>(
    view: TenantView,
    version: number | 'current',
    actor: AuditActor,
    fn: (key: Buffer, version: number) => T,
    opts: { purpose?: string | undefined } = {},
  ): Promise<T> {
    if (!view.cmk)
      throw new AppError(
        'CMK_NOT_CONFIGURED',
        `tenant ${view.tenant.id} has no customer key; register one with PUT /v1/tenants/${view.tenant.id}/cmk`,
      );
    const v = version === 'current' ? view.currentTkVersion : version;
    if (v === undefined)
      throw new AppError('CMK_NOT_CONFIGURED', `tenant ${view.tenant.id} has no tenant key`);
    const tenantId = view.tenant.id;
    const ttlMs = view.tenant.cacheTtlSeconds * 1000;

    if (ttlMs === 0) {
      // Strict mode: one KMS unwrap per use, never cached, zeroed right after; with purpose
      // binding, the unwrap goes through the copy bound to the declared purpose.
      const purpose = view.tenant.policy.purposeInKmsContext ? opts.purpose : undefined;
      const key = await this.unwrap(tenantId, v, actor, false, purpose);
      try {
        return fn(key, v);
      } finally {
        zeroize(key);
      }
    }

    for (let attempt = 0; attempt < 3; attempt++) {
      const hit = this.d.cache.get(tenantId, v);
      if (hit) {
        this.d.metrics.cacheEvents.inc({ result: 'hit' });
        return fn(hit.key, v);
      }
      this.d.metrics.cacheEvents.inc({ result: 'miss' });
      const id = `${tenantId}\u0000${v}`;
      let pending = this.inflight.get(id);
      if (!pending) {
        const generation = this.d.cache.generation(tenantId);
        pending = this.unwrap(tenantId, v, actor)
          .then((key) => {
            if (!this.d.cache.put(tenantId, v, key, ttlMs, generation)) zeroize(key);
          })
          .finally(() => this.inflight.delete(id));
        this.inflight.set(id, pending);
      }
      await pending;
      // Re-read the cache in this tick: a purge between the unwrap and now must win.
    }
    throw new AppError(
      'KMS_UNAVAILABLE',
      `tenant key of ${tenantId} was purged repeatedly while loading; try again`,
    );
  }

  /**
   * Unwraps one version with the CMK recorded beside it (or, with `purpose`, the copy bound to that
   * purpose); audits the call before returning the key, which the caller must zero. Not cached:
   * for key management (CMK change, purpose binding) and the strict path of {@link use}.
   */
  async unwrap(
    tenantId: string,
    version: number,
    actor: AuditActor,
    allowRetired = false,
    purpose?: string,
  ): Promise<Buffer> {
    // A ciphertext header carries a u32; versions are PostgreSQL integers, so a larger one is
    // simply not ours (querying it would fail as an internal error).
    const row =
      Number.isInteger(version) && version >= 1 && version <= 0x7fffffff
        ? await tenantKeyRepository.get(this.d.db, tenantId, version)
        : undefined;
    if (!row || row.state === 'destroyed' || !row.wrapped) {
      throw new AppError(
        'INVALID_CIPHERTEXT',
        `tenant key version ${version} does not exist for tenant ${tenantId}`,
      );
    }
    // A retired version decrypts nothing (only a CMK change re-wraps it, to keep it recoverable).
    if (row.state === 'retired' && !allowRetired) {
      throw new AppError('INVALID_CIPHERTEXT', `tenant key version ${version} is retired`);
    }
    let wrapped: Buffer = row.wrapped;
    let ctx = tenantKeyContext(tenantId, version);
    if (purpose !== undefined) {
      const copy = await tenantKeyRepository.getPurposeWrap(this.d.db, tenantId, version, purpose);
      if (!copy || copy.cmkKeyRef !== row.cmkKeyRef) {
        throw new AppError(
          'PURPOSE_NOT_ALLOWED',
          `no key copy is bound to purpose "${purpose}" for this tenant`,
        );
      }
      wrapped = copy.wrapped;
      ctx = accessPurposeContext(tenantId, version, purpose);
    }
    const ref = this.d.registry.parseKeyRef(row.cmkProvider, row.cmkKeyRef);
    const provider = this.d.registry.forRef(ref);
    const resource = `tenants/${tenantId}/tenant-keys/${version}`;
    let plaintext: Uint8Array;
    let requestId: string | undefined;
    if (this.d.budget && !(await this.d.budget.take(tenantId))) {
      // Our own refusal, not the customer's KMS: audited, but it neither calls the KMS nor counts
      // towards the circuit breaker.
      await this.d.audit.record(actor, {
        tenantId,
        action: 'kms.unwrap',
        outcome: 'denied',
        resource,
        errorCode: 'KMS_THROTTLED',
        kmsProvider: ref.provider,
        kmsKeyRef: ref.uri,
        ...(purpose ? { purpose } : {}),
      });
      throw new KmsError('KMS_THROTTLED', `KMS call budget of tenant ${tenantId} is spent for this second`, {
        provider: ref.provider,
        keyRef: ref.uri,
        operation: 'unwrap',
      });
    }
    // An open circuit fails fast without calling the KMS (and so without a kms.unwrap event).
    this.d.breaker?.admit(tenantId, ref.provider);
    try {
      const res = await provider.unwrap(ref, wrapped, ctx);
      plaintext = res.plaintext;
      requestId = res.requestId;
      this.d.breaker?.success(tenantId);
    } catch (err) {
      const kmsErr = isKmsError(err)
        ? err
        : new KmsError('KMS_UNAVAILABLE', `unwrap with ${ref.uri} failed`, {
            provider: ref.provider,
            keyRef: ref.uri,
            cause: err,
          });
      this.d.breaker?.failure(tenantId, kmsErr.code);
      await this.d.audit.record(actor, {
        tenantId,
        action: 'kms.unwrap',
        outcome: 'failure',
        resource,
        errorCode: kmsErr.code,
        kmsProvider: ref.provider,
        kmsKeyRef: ref.uri,
        ...(purpose ? { purpose } : {}),
        ...(kmsErr.requestId ? { kmsRequestId: kmsErr.requestId } : {}),
      });
      if (kmsErr.revokesAccess) await this.markRevoked(tenantId, `${kmsErr.code}: ${kmsErr.message}`);
      throw kmsErr;
    }
    void this.noteRestored(tenantId);
    const key = Buffer.from(plaintext);
    zeroize(plaintext);
    try {
      await this.d.audit.record(actor, {
        tenantId,
        action: 'kms.unwrap',
        outcome: 'success',
        resource,
        kmsProvider: ref.provider,
        kmsKeyRef: ref.uri,
        ...(purpose ? { purpose } : {}),
        ...(requestId ? { kmsRequestId: requestId } : {}),
      });
    } catch (err) {
      zeroize(key);
      throw err;
    }
    return key;
  }

  /** A revocation seen here (KMS error or health probe): purge at once, tell the other instances, record it. */
  async markRevoked(tenantId: string, reason: string): Promise<void> {
    this.d.cache.purgeTenant(tenantId);
    this.d.directory.invalidate(tenantId);
    this.d.onRevocation?.(tenantId);
    try {
      await tenantRepository.setCmkState(this.d.db, tenantId, 'revoked', reason.slice(0, 500));
    } catch (dbErr) {
      this.d.logger.warn({ tenantId, err: (dbErr as Error).message }, 'could not record CMK revocation');
    }
  }

  /** After a successful unwrap: a CMK recorded as revoked is evidently back. */
  private async noteRestored(tenantId: string): Promise<void> {
    try {
      const view = await this.d.directory.get(tenantId);
      if (view?.cmk?.state === 'revoked') {
        await tenantRepository.setCmkState(this.d.db, tenantId, 'active', null);
        this.d.directory.invalidate(tenantId);
      }
    } catch (err) {
      this.d.logger.warn({ tenantId, err: (err as Error).message }, 'could not record CMK restoration');
    }
  }

  /** Purges a tenant's cached keys on this instance. */
  purge(tenantId: string): void {
    this.d.cache.purgeTenant(tenantId);
    this.d.directory.invalidate(tenantId);
  }
}
