import { timingSafeEqual } from 'node:crypto';
import { generateTenantKey, zeroize } from '@byok/envelope';
import { isKmsError, type EncryptionContext, type KeyRef, type KmsRegistry } from '@byok/kms';
import {
  tenantKeyRepository,
  tenantRepository,
  writeLocks,
  type Db,
  type TenantKeyRow,
  type TenantPolicy,
} from '@byok/store';
import { AppError } from '../../errors.js';
import { failpoint } from '../../failpoints.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import type { TenantDirectory } from '../tenants/tenant-directory.js';
import { accessPurposeContext, tenantKeyContext, type TenantKeyService } from './tenant-key-service.js';

/** Purposes that get KMS-bound copies: every allowed purpose, when the tenant asked for it. */
export function boundPurposes(policy: TenantPolicy): string[] {
  if (!policy.purposeInKmsContext || !policy.allowedPurposes) return [];
  const { byRole = {}, byToken = {} } = policy.allowedPurposes;
  return [...new Set([...Object.values(byRole), ...Object.values(byToken)].flat())].sort();
}

type PurposeWrap = { version: number; purpose: string; wrapped: Uint8Array; cmkKeyRef: string };

/** Dependencies of {@link CmkManager}. */
export interface CmkManagerDeps {
  db: Db;
  withTransaction: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  registry: KmsRegistry;
  directory: TenantDirectory;
  audit: AuditRecorder;
  tenantKeys: TenantKeyService;
}

/**
 * Key management under the customer's CMK: registering or changing the CMK, creating tenant-key
 * versions, and strict-mode purpose binding. Every wrap is proven by an unwrap and a byte
 * comparison before anything is stored.
 */
export class CmkManager {
  constructor(private readonly d: CmkManagerDeps) {}

  /**
   * Registers a customer key. For a tenant without keys: creates TK v1 wrapped by it. For a tenant
   * that has keys: re-wraps every version under the new CMK. Each wrap is proven by an unwrap and a
   * byte comparison before anything is stored; all rows switch in one transaction.
   */
  async registerCmk(
    tenantId: string,
    provider: string,
    keyRefInput: string,
    actor: AuditActor,
  ): Promise<void> {
    const ref = this.d.registry.parseKeyRef(provider, keyRefInput);
    const kms = this.d.registry.forRef(ref);
    const existing = await tenantKeyRepository.list(this.d.db, tenantId);
    const live = existing.filter((k) => k.state !== 'destroyed');
    const plan: { version: number; wrapped: Uint8Array; keyVersion?: string | undefined }[] = [];
    const view = await this.d.directory.get(tenantId);
    const purposes = view ? boundPurposes(view.tenant.policy) : [];
    const purposeWraps: PurposeWrap[] = [];
    try {
      if (live.length === 0) {
        const tk = generateTenantKey();
        try {
          plan.push({ version: 1, ...(await this.wrapVerified(kms, ref, tenantId, 1, tk, actor)) });
        } finally {
          zeroize(tk);
        }
      } else {
        if (!view) throw new AppError('NOT_FOUND', `tenant ${tenantId} not found`);
        for (const k of live) {
          // Unwrap with the old CMK (audited), wrap with the new one, verify.
          const tk = await this.d.tenantKeys.unwrap(tenantId, k.version, actor, true);
          try {
            plan.push({
              version: k.version,
              ...(await this.wrapVerified(kms, ref, tenantId, k.version, tk, actor)),
            });
            if (k.state !== 'retired')
              purposeWraps.push(
                ...(await this.purposeCopies(kms, ref, tenantId, k.version, tk, purposes, actor)),
              );
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
      // Switch only the key set that was re-wrapped: a concurrent CMK change or a new tenant-key
      // version since then would leave a version under the other CMK (or none), so refuse.
      await writeLocks.tenantKeys(tx, tenantId);
      if (!sameKeySet(existing, await tenantKeyRepository.list(tx, tenantId)))
        throw new AppError(
          'CONFLICT',
          `the keys of tenant ${tenantId} changed while its CMK was being registered (a concurrent CMK change or rotation); retry`,
        );
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
      // Purpose-bound copies switch with the rest: none may stay under the old CMK.
      if (live.length > 0) await tenantKeyRepository.replacePurposeWraps(tx, tenantId, purposeWraps);
      await tenantRepository.upsertCmk(tx, { tenantId, provider: ref.provider, keyRef: ref.uri });
      failpoint('cmk-change:before-commit');
    });
    failpoint('cmk-change:after-commit');
    this.d.tenantKeys.purge(tenantId);
  }

  /**
   * Creates tenant key version n+1 under the tenant's current CMK (wrap proven by an unwrap first);
   * new writes use it from then on. Returns the new version.
   */
  async createVersion(tenantId: string, actor: AuditActor): Promise<number> {
    const view = await this.d.directory.get(tenantId);
    if (!view?.cmk) throw new AppError('CMK_NOT_CONFIGURED', `tenant ${tenantId} has no customer key`);
    const ref = this.d.registry.parseKeyRef(view.cmk.provider, view.cmk.keyRef);
    const kms = this.d.registry.forRef(ref);
    const versions = await tenantKeyRepository.list(this.d.db, tenantId);
    const version = (versions.at(-1)?.version ?? 0) + 1;
    const tk = generateTenantKey();
    let wrapped: { wrapped: Uint8Array; keyVersion?: string | undefined };
    let copies: PurposeWrap[];
    try {
      wrapped = await this.wrapVerified(kms, ref, tenantId, version, tk, actor);
      copies = await this.purposeCopies(
        kms,
        ref,
        tenantId,
        version,
        tk,
        boundPurposes(view.tenant.policy),
        actor,
      );
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
    await this.d.withTransaction(async (tx) => {
      // The new version must be wrapped by the CMK that is registered when it is stored: a CMK
      // change that committed meanwhile would otherwise leave it under the old CMK alone.
      await writeLocks.tenantKeys(tx, tenantId);
      const cmk = await tenantRepository.getCmk(tx, tenantId);
      const latest = (await tenantKeyRepository.list(tx, tenantId)).at(-1)?.version ?? 0;
      if (
        cmk?.provider !== view.cmk?.provider ||
        cmk?.keyRef !== view.cmk?.keyRef ||
        latest + 1 !== version
      ) {
        this.d.directory.invalidate(tenantId); // so that a retry plans from what is stored now
        throw new AppError(
          'CONFLICT',
          `the keys of tenant ${tenantId} changed during the rotation (a concurrent CMK change or rotation); retry`,
        );
      }
      await tenantKeyRepository.insert(tx, {
        tenantId,
        version,
        wrapped: wrapped.wrapped,
        cmkProvider: ref.provider,
        cmkKeyRef: ref.uri,
        cmkKeyVersion: wrapped.keyVersion,
      });
      await tenantKeyRepository.addPurposeWraps(tx, tenantId, copies);
    });
    this.d.directory.invalidate(tenantId);
    return version;
  }

  /**
   * Wraps `tk` and proves the wrap by unwrapping it again. Both KMS calls are audited (`kms.wrap`,
   * `kms.unwrap`, with provider, key ref, the KMS request id and this request's id), so the
   * tenant's `/v1/audit/kms-calls` matches the customer's own KMS log call for call.
   */
  private async wrapVerified(
    kms: ReturnType<KmsRegistry['forRef']>,
    ref: KeyRef,
    tenantId: string,
    version: number,
    tk: Buffer,
    actor: AuditActor,
    ctx: EncryptionContext = tenantKeyContext(tenantId, version),
  ): Promise<{ wrapped: Uint8Array; keyVersion?: string | undefined }> {
    const call = async <R extends { requestId?: string | undefined }>(
      action: 'kms.wrap' | 'kms.unwrap',
      fn: () => Promise<R>,
    ): Promise<R> => {
      const base = {
        tenantId,
        action,
        resource: `tenants/${tenantId}/tenant-keys/${version}`,
        kmsProvider: ref.provider,
        kmsKeyRef: ref.uri,
        ...(typeof ctx.accessPurpose === 'string' ? { purpose: ctx.accessPurpose } : {}),
      };
      let r: R;
      try {
        r = await fn();
      } catch (err) {
        await this.d.audit.record(actor, {
          ...base,
          outcome: 'failure',
          errorCode: isKmsError(err) ? err.code : 'KMS_UNAVAILABLE',
          ...(isKmsError(err) && err.requestId ? { kmsRequestId: err.requestId } : {}),
        });
        throw err;
      }
      try {
        await this.d.audit.record(actor, {
          ...base,
          outcome: 'success',
          ...(r.requestId ? { kmsRequestId: r.requestId } : {}),
        });
      } catch (err) {
        // Fail closed, and leave no unwrapped key behind.
        const plaintext = (r as { plaintext?: Uint8Array }).plaintext;
        if (plaintext) zeroize(plaintext);
        throw err;
      }
      return r;
    };
    const wrapped = await call('kms.wrap', () => kms.wrap(ref, tk, ctx));
    const back = await call('kms.unwrap', () => kms.unwrap(ref, wrapped.wrapped, ctx));
    try {
      const same = back.plaintext.length === tk.length && timingSafeEqual(Buffer.from(back.plaintext), tk);
      if (!same)
        throw new AppError('CMK_VERIFICATION_FAILED', `${ref.uri} returned a different key on unwrap`);
    } finally {
      zeroize(back.plaintext);
    }
    return { wrapped: wrapped.wrapped, keyVersion: wrapped.keyVersion };
  }

  /** Wraps `tk` once per purpose under its purpose-bound context (each proven by an unwrap). */
  private async purposeCopies(
    kms: ReturnType<KmsRegistry['forRef']>,
    ref: KeyRef,
    tenantId: string,
    version: number,
    tk: Buffer,
    purposes: readonly string[],
    actor: AuditActor,
  ): Promise<PurposeWrap[]> {
    const out: PurposeWrap[] = [];
    for (const purpose of purposes) {
      const ctx = accessPurposeContext(tenantId, version, purpose);
      const { wrapped } = await this.wrapVerified(kms, ref, tenantId, version, tk, actor, ctx);
      out.push({ version, purpose, wrapped, cmkKeyRef: ref.uri });
    }
    return out;
  }

  /**
   * Prepares strict-mode purpose binding: every live tenant-key version gets one copy per purpose,
   * wrapped by the CMK under `{tenant, purpose, version, accessPurpose}`. Replaces the old set.
   */
  async preparePurposeWraps(
    tenantId: string,
    purposes: readonly string[],
    actor: AuditActor,
  ): Promise<number> {
    if (purposes.length === 0) {
      await tenantKeyRepository.replacePurposeWraps(this.d.db, tenantId, []);
      return 0;
    }
    const view = await this.d.directory.get(tenantId);
    if (!view?.cmk) throw new AppError('CMK_NOT_CONFIGURED', `tenant ${tenantId} has no customer key`);
    const ref = this.d.registry.parseKeyRef(view.cmk.provider, view.cmk.keyRef);
    const kms = this.d.registry.forRef(ref);
    const wraps: PurposeWrap[] = [];
    for (const k of await tenantKeyRepository.list(this.d.db, tenantId)) {
      if (k.state !== 'active') continue;
      const tk = await this.d.tenantKeys.unwrap(tenantId, k.version, actor, true);
      try {
        wraps.push(...(await this.purposeCopies(kms, ref, tenantId, k.version, tk, purposes, actor)));
      } finally {
        zeroize(tk);
      }
    }
    await this.d.withTransaction((tx) => tenantKeyRepository.replacePurposeWraps(tx, tenantId, wraps));
    return wraps.length;
  }
}

/** Whether two reads of a tenant's keys show the same versions, states, CMKs and wrapped forms. */
function sameKeySet(a: readonly TenantKeyRow[], b: readonly TenantKeyRow[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i] as TenantKeyRow;
    const sameWrap =
      x.wrapped === null || y.wrapped === null ? x.wrapped === y.wrapped : x.wrapped.equals(y.wrapped);
    return x.version === y.version && x.state === y.state && x.cmkKeyRef === y.cmkKeyRef && sameWrap;
  });
}
