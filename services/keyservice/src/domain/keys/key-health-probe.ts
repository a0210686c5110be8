import { hasKeyHealth, isKmsError, type KmsRegistry } from '@byok/kms';
import type { Logger } from '../../logger.js';
import type { AuditRecorder } from '../audit/audit-recorder.js';
import type { JobTask } from '../jobs/job-runner.js';
import type { TenantDirectory } from '../tenants/tenant-directory.js';
import type { TenantKeyCache } from './tenant-key-cache.js';
import type { TenantKeyService } from './tenant-key-service.js';

/** Options for {@link KeyHealthProbe}. */
export interface KeyHealthProbeOptions {
  intervalMs: number;
  cache: TenantKeyCache;
  directory: TenantDirectory;
  registry: KmsRegistry;
  tenantKeys: TenantKeyService;
  audit: AuditRecorder;
  logger: Logger;
}

/**
 * Periodically asks the KMS about the CMK of every tenant whose keys this instance holds in
 * memory (DescribeKey / getKey / getCryptoKeyVersion). Only cached keys can outlive a revocation,
 * so only those tenants need watching; a tenant without cached keys hits the KMS on its next
 * request anyway. A disabled, deleted or inaccessible key purges the tenant everywhere.
 */
export class KeyHealthProbe {
  constructor(private readonly o: KeyHealthProbeOptions) {}

  /** The periodic job for the runner (off when the interval is 0). */
  task(): JobTask {
    return {
      name: 'key-health-probe',
      schedule: { kind: 'interval', everyMs: this.o.intervalMs },
      run: (signal) => this.probeAll(signal),
    };
  }

  /** One round over the cached tenants; returns the tenants found revoked. */
  async probeAll(signal?: AbortSignal): Promise<string[]> {
    const revoked: string[] = [];
    for (const tenantId of this.o.cache.tenants()) {
      if (signal?.aborted) break;
      if (await this.probe(tenantId)) revoked.push(tenantId);
    }
    return revoked;
  }

  private async probe(tenantId: string): Promise<boolean> {
    const view = await this.o.directory.get(tenantId).catch(() => undefined);
    if (!view?.cmk) return false;
    const ref = this.o.registry.parseKeyRef(view.cmk.provider, view.cmk.keyRef);
    const provider = this.o.registry.forRef(ref);
    if (!hasKeyHealth(provider)) return false;
    let reason: string | undefined;
    try {
      const health = await provider.describe(ref);
      if (health.state !== 'enabled' && health.state !== 'unknown')
        reason = `KEY_REVOKED: key is ${health.detail ?? health.state}`;
    } catch (err) {
      if (isKmsError(err) && err.revokesAccess) reason = `${err.code}: ${err.message}`;
      else this.o.logger.debug({ tenantId, err: (err as Error).message }, 'key health probe inconclusive');
    }
    if (!reason) return false;
    this.o.logger.warn(
      { tenantId, keyRef: ref.uri },
      'key health probe found the customer key revoked; purging',
    );
    await this.o.tenantKeys.markRevoked(tenantId, reason);
    await this.o.audit
      .record(
        {},
        {
          tenantId,
          action: 'kms.health',
          outcome: 'failure',
          resource: `tenants/${tenantId}/cmk`,
          errorCode: 'KEY_REVOKED',
          kmsProvider: ref.provider,
          kmsKeyRef: ref.uri,
        },
      )
      .catch((err: unknown) =>
        this.o.logger.warn({ tenantId, err: (err as Error).message }, 'could not audit the probe result'),
      );
    return true;
  }
}
