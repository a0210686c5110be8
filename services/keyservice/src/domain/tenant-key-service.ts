import { timingSafeEqual } from 'node:crypto';
import { generateTenantKey, zeroize } from '@byok/envelope';
import {
  isKmsError,
  KmsError,
  parseKeyRef,
  type EncryptionContext,
  type KeyRef,
  type KmsRegistry,
  type ProviderName,
} from '@byok/kms';
import { tenantKeyRepository, tenantRepository, type Db } from '@byok/store';
import { AppError } from '../errors.js';
import { failpoint } from '../failpoints.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { AuditActor, AuditRecorder } from './audit-recorder.js';
import type { KmsBreaker } from './kms-breaker.js';
import type { TenantKeyCache } from './tenant-key-cache.js';
import type { TenantDirectory, TenantView } from './tenant-directory.js';

/** The KMS encryption context of a tenant key: shows up in the customer's own KMS log. */
export function tenantKeyContext(tenantId: string, version: number): EncryptionContext {
  return { tenant: tenantId, purpose: 'tenant-key', version: String(version) };
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
      // Strict mode: one KMS unwrap per use, never cached, zeroed right after.
      const key = await this.unwrap(tenantId, v, actor);
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

  /** Unwraps one version with the CMK recorded beside it; audits the call before returning the key. */
  private async unwrap(
    tenantId: string,
    version: number,
    actor: AuditActor,
    allowRetired = false,
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
    const ref = parseKeyRef(row.cmkProvider as ProviderName, row.cmkKeyRef);
    const provider = this.d.registry.forRef(ref);
    const resource = `tenants/${tenantId}/tenant-keys/${version}`;
    let plaintext: Uint8Array;
    let requestId: string | undefined;
    // An open circuit fails fast without calling the KMS (and so without a kms.unwrap event).
    this.d.breaker?.admit(tenantId, ref.provider);
    try {
      const res = await provider.unwrap(ref, row.wrapped, tenantKeyContext(tenantId, version));
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

  /**
   * Registers a customer key. For a tenant without keys: creates TK v1 wrapped by it. For a tenant
   * that has keys: re-wraps every version under the new CMK. Each wrap is proven by an unwrap and a
   * byte comparison before anything is stored; all rows switch in one transaction.
   */
  async registerCmk(
    tenantId: string,
    provider: ProviderName,
    keyRefInput: string,
    actor: AuditActor,
  ): Promise<void> {
    const ref = parseKeyRef(provider, keyRefInput);
    const kms = this.d.registry.forRef(ref);
    const existing = await tenantKeyRepository.list(this.d.db, tenantId);
    const live = existing.filter((k) => k.state !== 'destroyed');
    const plan: { version: number; wrapped: Uint8Array; keyVersion?: string | undefined }[] = [];
    const view = await this.d.directory.get(tenantId);
    try {
      if (live.length === 0) {
        const tk = generateTenantKey();
        try {
          plan.push({ version: 1, ...(await this.wrapVerified(kms, ref, tenantId, 1, tk)) });
        } finally {
          zeroize(tk);
        }
      } else {
        if (!view) throw new AppError('NOT_FOUND', `tenant ${tenantId} not found`);
        for (const k of live) {
          // Unwrap with the old CMK (audited), wrap with the new one, verify.
          const tk = await this.unwrap(tenantId, k.version, actor, true);
          try {
            plan.push({
              version: k.version,
              ...(await this.wrapVerified(kms, ref, tenantId, k.version, tk)),
            });
          } finally {
            zeroize(tk);
          }
        }
      }
    } catch (err) {
      if (err instanceof AppError && err.code !== 'CMK_VERIFICATION_FAILED') throw err;
      const reason = isKmsError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
      await this.d.audit.record(actor, {
        tenantId,
        action: 'cmk.register',
        outcome: 'failure',
        resource: `tenants/${tenantId}/cmk`,
        errorCode: 'CMK_VERIFICATION_FAILED',
        kmsProvider: ref.provider,
        kmsKeyRef: ref.uri,
      });
      throw new AppError(
        'CMK_VERIFICATION_FAILED',
        `could not prove wrap and unwrap with ${ref.uri}: ${reason}`,
        { cause: err },
      );
    }

    failpoint('cmk-change:after-wrap');
    // Audited before the switch commits: a registration can be over-reported, never hidden.
    await this.d.audit.record(actor, {
      tenantId,
      action: live.length === 0 ? 'cmk.register' : 'cmk.change',
      outcome: 'success',
      resource: `tenants/${tenantId}/cmk`,
      kmsProvider: ref.provider,
      kmsKeyRef: ref.uri,
      details: { itemCount: plan.length },
    });
    await this.d.withTransaction(async (tx) => {
      for (const p of plan) {
        const row = {
          tenantId,
          version: p.version,
          wrapped: p.wrapped,
          cmkProvider: ref.provider,
          cmkKeyRef: ref.uri,
          cmkKeyVersion: p.keyVersion,
        };
        if (live.length === 0) await tenantKeyRepository.insert(tx, row);
        else await tenantKeyRepository.rewrap(tx, row);
      }
      await tenantRepository.upsertCmk(tx, { tenantId, provider: ref.provider, keyRef: ref.uri });
      failpoint('cmk-change:before-commit');
    });
    failpoint('cmk-change:after-commit');
    this.d.cache.purgeTenant(tenantId);
    this.d.directory.invalidate(tenantId);
  }

  /**
   * Creates tenant key version n+1 under the tenant's current CMK (wrap proven by an unwrap first);
   * new writes use it from then on. Returns the new version.
   */
  async createVersion(tenantId: string, actor: AuditActor): Promise<number> {
    const view = await this.d.directory.get(tenantId);
    if (!view?.cmk) throw new AppError('CMK_NOT_CONFIGURED', `tenant ${tenantId} has no customer key`);
    const ref = parseKeyRef(view.cmk.provider as ProviderName, view.cmk.keyRef);
    const kms = this.d.registry.forRef(ref);
    const versions = await tenantKeyRepository.list(this.d.db, tenantId);
    const version = (versions.at(-1)?.version ?? 0) + 1;
    const tk = generateTenantKey();
    let wrapped: { wrapped: Uint8Array; keyVersion?: string | undefined };
    try {
      wrapped = await this.wrapVerified(kms, ref, tenantId, version, tk);
    } finally {
      zeroize(tk);
    }
    await this.d.audit.record(actor, {
      tenantId,
      action: 'tenant-key.rotate',
      outcome: 'success',
      resource: `tenants/${tenantId}/tenant-keys/${version}`,
      kmsProvider: ref.provider,
      kmsKeyRef: ref.uri,
      details: { keyVersion: version },
    });
    await tenantKeyRepository.insert(this.d.db, {
      tenantId,
      version,
      wrapped: wrapped.wrapped,
      cmkProvider: ref.provider,
      cmkKeyRef: ref.uri,
      cmkKeyVersion: wrapped.keyVersion,
    });
    this.d.directory.invalidate(tenantId);
    return version;
  }

  private async wrapVerified(
    kms: ReturnType<KmsRegistry['forRef']>,
    ref: KeyRef,
    tenantId: string,
    version: number,
    tk: Buffer,
  ): Promise<{ wrapped: Uint8Array; keyVersion?: string | undefined }> {
    const ctx = tenantKeyContext(tenantId, version);
    const wrapped = await kms.wrap(ref, tk, ctx);
    const back = await kms.unwrap(ref, wrapped.wrapped, ctx);
    try {
      const same = back.plaintext.length === tk.length && timingSafeEqual(Buffer.from(back.plaintext), tk);
      if (!same)
        throw new AppError('CMK_VERIFICATION_FAILED', `${ref.uri} returned a different key on unwrap`);
    } finally {
      zeroize(back.plaintext);
    }
    return { wrapped: wrapped.wrapped, keyVersion: wrapped.keyVersion };
  }

  /** Purges a tenant's cached keys on this instance. */
  purge(tenantId: string): void {
    this.d.cache.purgeTenant(tenantId);
    this.d.directory.invalidate(tenantId);
  }
}
