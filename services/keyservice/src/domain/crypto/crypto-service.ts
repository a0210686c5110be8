import type { AuditAction, AuditDetailsFor } from '@byok/audit';
import { open, readHeader, seal, zeroize, type Context } from '@byok/envelope';
import { AppError } from '../../errors.js';
import { toAppError } from '../../errors.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import { purposeAllowed } from './purpose-policy.js';
import type { TenantKeyService } from '../keys/tenant-key-service.js';
import type { TenantView } from '../tenants/tenant-directory.js';

/** Outcome of one batch item. */
export type ItemResult<T> = { ok: true; value: T } | { ok: false; error: AppError };

/**
 * Encrypt and decrypt under a tenant's key. Every decrypt (success or failure) is audited, and a
 * plaintext leaves only after its audit event has committed (G4).
 */
export class CryptoService {
  constructor(
    private readonly keys: TenantKeyService,
    private readonly audit: AuditRecorder,
  ) {}

  /** Seals `plaintext` under the tenant's current key, bound to tenant and context. */
  async encrypt(
    view: TenantView,
    actor: AuditActor,
    plaintext: Buffer,
    context: Context | undefined,
  ): Promise<{ ciphertext: Buffer; keyVersion: number }> {
    return this.keys.use(view, 'current', actor, (key, v) => ({
      ciphertext: seal(key, plaintext, {
        tenantId: view.tenant.id,
        tkVersion: v,
        ...(context ? { context } : {}),
      }),
      keyVersion: v,
    }));
  }

  /** Seals many items; one bad item does not fail the rest. */
  async encryptBatch(
    view: TenantView,
    actor: AuditActor,
    items: { plaintext: Buffer; context?: Context | undefined }[],
  ): Promise<ItemResult<Buffer>[]> {
    return this.keys.use(view, 'current', actor, (key, v) =>
      items.map((item): ItemResult<Buffer> => {
        try {
          return {
            ok: true,
            value: seal(key, item.plaintext, {
              tenantId: view.tenant.id,
              tkVersion: v,
              ...(item.context ? { context: item.context } : {}),
            }),
          };
        } catch (err) {
          return { ok: false, error: toAppError(err) };
        }
      }),
    );
  }

  /** Refuses (and audits) a purpose the tenant's policy does not allow. */
  checkPurpose(
    view: TenantView,
    actor: AuditActor,
    action: AuditAction,
    resource: string,
    purpose: string | undefined,
  ): Promise<void> | undefined {
    // Synchronous when allowed (the common case): no promise, no extra turn of the event loop.
    if (!actor.principal || purposeAllowed(view.tenant.policy, actor.principal, purpose)) return undefined;
    return this.refusePurpose(view, actor, action, resource, purpose);
  }

  private async refusePurpose(
    view: TenantView,
    actor: AuditActor,
    action: AuditAction,
    resource: string,
    purpose: string | undefined,
  ): Promise<never> {
    await this.audit.record(actor, {
      tenantId: view.tenant.id,
      action,
      outcome: 'denied',
      resource,
      errorCode: 'PURPOSE_NOT_ALLOWED',
      ...(purpose ? { purpose } : {}),
    });
    throw new AppError(
      'PURPOSE_NOT_ALLOWED',
      purpose
        ? `purpose "${purpose}" is not allowed for this token`
        : 'this tenant requires a declared purpose',
    );
  }

  /** Opens one ciphertext; audited before the plaintext is returned. */
  async decrypt(
    view: TenantView,
    actor: AuditActor,
    ciphertext: Buffer,
    context: Context | undefined,
    purpose: string | undefined,
  ): Promise<Buffer> {
    const tenantId = view.tenant.id;
    const resource = `tenants/${tenantId}/ciphertexts`;
    const refused = this.checkPurpose(view, actor, 'decrypt', resource, purpose);
    if (refused) await refused;
    return this.auditedOpen(
      view,
      actor,
      { action: 'decrypt', resource, purpose },
      () => readHeader(ciphertext).tkVersion,
      (key) => open(key, ciphertext, { tenantId, ...(context ? { context } : {}) }),
    );
  }

  /**
   * The one path from a stored or presented ciphertext to plaintext: unwrap (or reuse) the tenant
   * key of the version `version()` names, open, and audit the outcome. A failure is audited and
   * rethrown; a success is audited and committed before the plaintext is returned (zeroed if the
   * audit write fails). `details` go on the success event.
   */
  async auditedOpen<A extends AuditAction>(
    view: TenantView,
    actor: AuditActor,
    event: { action: A; resource: string; purpose: string | undefined; details?: AuditDetailsFor<A> },
    version: () => number,
    openWith: (key: Buffer) => Buffer,
  ): Promise<Buffer> {
    const { action, resource, purpose } = event;
    const base = { tenantId: view.tenant.id, action, resource, ...(purpose ? { purpose } : {}) };
    let plaintext: Buffer;
    try {
      plaintext = await this.keys.use(view, version(), actor, openWith, { purpose });
    } catch (err) {
      const appErr = toAppError(err);
      if (appErr.code === 'AUDIT_UNAVAILABLE') throw appErr;
      await this.audit.record(actor, { ...base, outcome: 'failure', errorCode: appErr.code });
      throw appErr;
    }
    try {
      await this.audit.record(actor, {
        ...base,
        outcome: 'success',
        ...(event.details ? { details: event.details } : {}),
      });
    } catch (err) {
      zeroize(plaintext);
      throw err;
    }
    return plaintext;
  }

  /** Opens many ciphertexts; one audit event covers the batch and commits before any plaintext leaves. */
  async decryptBatch(
    view: TenantView,
    actor: AuditActor,
    items: { ciphertext: Buffer | undefined; context?: Context | undefined }[],
    purpose: string | undefined,
  ): Promise<ItemResult<Buffer>[]> {
    const tenantId = view.tenant.id;
    const resource = `tenants/${tenantId}/ciphertexts`;
    const refused = this.checkPurpose(view, actor, 'decrypt.batch', resource, purpose);
    if (refused) await refused;
    // Group items by key version so each version is unwrapped (or read from the cache) once per
    // request, in every mode: in strict mode 200 tampered items cost one KMS unwrap, not 200.
    const results: ItemResult<Buffer>[] = new Array<ItemResult<Buffer>>(items.length);
    const byVersion = new Map<number, number[]>();
    items.forEach((item, i) => {
      try {
        if (!item.ciphertext) throw new AppError('INVALID_CIPHERTEXT', 'ciphertext is not valid base64url');
        const { tkVersion } = readHeader(item.ciphertext);
        byVersion.set(tkVersion, [...(byVersion.get(tkVersion) ?? []), i]);
      } catch (err) {
        results[i] = { ok: false, error: toAppError(err) };
      }
    });
    for (const [version, indexes] of byVersion) {
      try {
        await this.keys.use(
          view,
          version,
          actor,
          (key) => {
            for (const i of indexes) results[i] = openItem(key, tenantId, items[i]);
          },
          { purpose },
        );
      } catch (err) {
        const appErr = toAppError(err);
        if (appErr.code === 'AUDIT_UNAVAILABLE') {
          for (const r of results) if (r?.ok) zeroize(r.value);
          throw appErr;
        }
        for (const i of indexes) results[i] = { ok: false, error: appErr };
      }
    }
    const failed = results.filter((r) => !r.ok).length;
    const codes = [...new Set(results.flatMap((r) => (r.ok ? [] : [r.error.code])))].join(',');
    try {
      await this.audit.record(actor, {
        tenantId,
        action: 'decrypt.batch',
        outcome: failed === 0 ? 'success' : 'failure',
        resource,
        ...(codes ? { errorCode: codes.split(',')[0] } : {}),
        ...(purpose ? { purpose } : {}),
        details: {
          itemCount: items.length,
          failedCount: failed,
          ...(codes ? { reason: codes.slice(0, 200) } : {}),
        },
      });
    } catch (err) {
      for (const r of results) if (r.ok) zeroize(r.value);
      throw err;
    }
    return results;
  }
}

/** Opens one batch item with an already unwrapped key; a bad item fails alone. */
function openItem(
  key: Buffer,
  tenantId: string,
  item: { ciphertext: Buffer | undefined; context?: Context | undefined } | undefined,
): ItemResult<Buffer> {
  try {
    if (!item?.ciphertext) throw new AppError('INVALID_CIPHERTEXT', 'ciphertext is not valid base64url');
    return {
      ok: true,
      value: open(key, item.ciphertext, { tenantId, ...(item.context ? { context: item.context } : {}) }),
    };
  } catch (err) {
    return { ok: false, error: toAppError(err) };
  }
}
