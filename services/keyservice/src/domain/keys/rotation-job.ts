import { randomBytes } from 'node:crypto';
import { open, seal, zeroize } from '@byok/envelope';
import { isKmsError } from '@byok/kms';
import {
  jobRepository,
  reencryptRepository,
  tenantKeyRepository,
  type Db,
  type JobRow,
  type ReencryptedRow,
  type ReencryptRow,
} from '@byok/store';
import { AppError } from '../../errors.js';
import { failpoint } from '../../failpoints.js';
import { toAppError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { AuditActor, AuditRecorder } from '../audit/audit-recorder.js';
import { startTicker, type JobHandle, type JobRunner } from '../jobs/job-runner.js';
import { fingerprintSecret, secretContext } from '../secrets/secret-service.js';
import type { TenantDirectory, TenantView } from '../tenants/tenant-directory.js';
import type { CmkManager } from './cmk-manager.js';
import { jobView, type JobView } from './job-view.js';
import type { TenantKeyService } from './tenant-key-service.js';

const KIND = 'tenant-key.reencrypt';
// Rows written under an old key by an instance that had not yet seen the rotation are picked up by
// a further pass; this bounds the passes so rows that cannot be decrypted end the job.
const MAX_PASSES = 5;

/** Dependencies and tuning of {@link RotationJobs}. */
export interface RotationJobsDeps {
  db: Db;
  withTransaction: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  tenantKeys: TenantKeyService;
  cmk: CmkManager;
  directory: TenantDirectory;
  audit: AuditRecorder;
  logger: Logger;
  /** Runs the poller that picks up jobs. */
  jobs: JobRunner;
  /** Rows re-encrypted per batch (one transaction, one audit event). */
  batchSize: number;
  /** How often an idle runner looks for work. */
  pollMs: number;
  /** Lease of a job; a crashed holder's job is taken over after this long. */
  leaseMs: number;
  /** First backoff after a KMS (or other transient) failure; doubles up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Lease owner name of this instance. */
  instanceId: string;
}

type Cursor = { name: string; version: number };

/** A batch read and re-sealed, not yet written. */
interface Prepared {
  rows: number;
  out: ReencryptedRow[];
  last: Cursor;
}

const cursorOf = (j: JobRow): Cursor | undefined =>
  j.cursorName !== null && j.cursorVersion !== null
    ? { name: j.cursorName, version: j.cursorVersion }
    : undefined;

/** Thrown inside a batch transaction when another runner owns the job now; rolls the batch back. */
class LeaseLost extends Error {
  override readonly name = 'LeaseLost';
}

/**
 * Tenant-key rotation: a new TK version for new writes, then a resumable background job that
 * re-encrypts stored secret versions to it. Each batch is decrypted, re-sealed, proven by opening
 * the new ciphertext, audited, and written in one transaction with its progress; every row update
 * is guarded by the key version it was read with. A row is therefore always either old-and-valid
 * or new-and-valid, whatever crashes. Jobs are leased, so one instance runs a job at a time.
 */
export class RotationJobs {
  private poller: JobHandle | undefined;

  constructor(private readonly d: RotationJobsDeps) {}

  /** Creates TK v(n+1) and a job that moves every stored secret version to it. */
  async rotate(tenantId: string, actor: AuditActor): Promise<{ version: number; jobId: string }> {
    const version = await this.d.cmk.createVersion(tenantId, actor);
    const jobId = `job_${randomBytes(12).toString('hex')}`;
    await this.d.withTransaction(async (tx) => {
      await jobRepository.cancelOpen(tx, tenantId, KIND, `superseded by ${jobId}`);
      const total = await reencryptRepository.countBelow(tx, tenantId, version);
      await jobRepository.create(tx, { id: jobId, tenantId, kind: KIND, targetVersion: version, total });
    });
    this.wake();
    return { version, jobId };
  }

  /** One job of a tenant, or undefined. */
  async get(tenantId: string, id: string): Promise<JobView | undefined> {
    const j = await jobRepository.get(this.d.db, tenantId, id);
    return j ? jobView(j) : undefined;
  }

  /**
   * Retires every tenant key version below `minVersion`: decrypts under them are refused from then
   * on. Refused while a job runs or any stored secret still uses such a version.
   */
  async retire(view: TenantView, minVersion: number, actor: AuditActor): Promise<{ retired: number }> {
    const tenantId = view.tenant.id;
    const current = view.currentTkVersion ?? 0;
    if (minVersion > current)
      throw new AppError(
        'VALIDATION_FAILED',
        `minVersion ${minVersion} is newer than the current tenant key version ${current}`,
      );
    const check = async (db: Db) => {
      if (await jobRepository.hasOpen(db, tenantId, KIND))
        throw new AppError('CONFLICT', 'a re-encryption job is still running; retire after it finished');
      const remaining = await reencryptRepository.countBelow(db, tenantId, minVersion);
      if (remaining > 0)
        throw new AppError(
          'CONFLICT',
          `${remaining} stored secret versions still use a tenant key version below ${minVersion}; rotate and let the job finish first`,
        );
    };
    await check(this.d.db);
    await this.d.audit.record(actor, {
      tenantId,
      action: 'tenant-key.retire',
      outcome: 'success',
      resource: `tenants/${tenantId}/tenant-keys`,
      details: { minVersion },
    });
    const retired = await this.d.withTransaction(async (tx) => {
      // Lock the tenant's key rows so a concurrent rotate/retire serialises behind this one.
      await tenantKeyRepository.lockAll(tx, tenantId);
      await check(tx);
      return reencryptRepository.retireBelow(tx, tenantId, minVersion);
    });
    this.d.tenantKeys.purge(tenantId);
    return { retired };
  }

  /** Hands the job poller to the runner: a look at start, then `pollMs` after each drain. */
  start(): void {
    this.poller ??= this.d.jobs.add({
      name: 'rotation-jobs',
      schedule: { kind: 'poll', pollMs: this.d.pollMs },
      run: (signal) => this.drain(signal),
    });
  }

  /** Looks for work now (after a rotation here) instead of at the next poll. */
  wake(): void {
    this.poller?.wake();
  }

  /** Stops polling and waits for the batch in flight; the job's lease is handed back. */
  async stop(): Promise<void> {
    await this.poller?.stop();
    this.poller = undefined;
  }

  /** Runs claimable jobs one after another until none is left. */
  private async drain(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const job = await jobRepository.claim(this.d.db, this.d.instanceId, this.d.leaseMs);
      if (!job) return;
      await this.runJob(job, signal);
    }
  }

  private async runJob(claimed: JobRow, signal: AbortSignal): Promise<void> {
    const owner = this.d.instanceId;
    let job = claimed;
    let lost = false;
    const beat = startTicker(Math.max(50, Math.floor(this.d.leaseMs / 3)), () => {
      jobRepository
        .heartbeat(this.d.db, job.id, owner, this.d.leaseMs)
        .then((ok) => {
          if (!ok) lost = true;
        })
        .catch(() => undefined);
    });
    let prepared: Promise<Prepared | undefined> = Promise.resolve(undefined);
    try {
      // One batch of look-ahead: the next batch is read and re-sealed (CPU here) while the current
      // one commits (work in PostgreSQL). Commits stay strictly in order, so progress is exact.
      prepared = this.prepare(job, cursorOf(job));
      while (!signal.aborted && !lost) {
        const batch = await prepared;
        if (!batch) {
          const next = await this.endPass(job);
          if (!next) return;
          job = next;
          prepared = this.prepare(job, cursorOf(job));
          continue;
        }
        const committing = this.commit(job, batch);
        prepared = this.prepare(job, batch.last);
        // Whatever happens to the commit, the look-ahead must not become an unhandled rejection.
        prepared.catch(() => undefined);
        job = await committing;
      }
      await prepared.catch(() => undefined);
      if (!lost) await jobRepository.release(this.d.db, job.id, owner);
    } catch (err) {
      if (err instanceof LeaseLost) return;
      const code = isKmsError(err) ? err.code : toAppError(err).code;
      if (code === 'NOT_FOUND') {
        await jobRepository.finish(this.d.db, job.id, owner, 'failed', code).catch(() => undefined);
        return;
      }
      const retryMs = Math.min(this.d.retryMaxMs, this.d.retryBaseMs * 2 ** Math.min(job.failures, 16));
      this.d.logger.warn({ jobId: job.id, tenantId: job.tenantId, code, retryMs }, 'rotation job paused');
      await jobRepository.pause(this.d.db, job.id, owner, code, retryMs).catch(() => undefined);
    } finally {
      beat.stop();
    }
  }

  /** Reads and re-seals the batch after `after`; undefined when the pass has no rows left. */
  private async prepare(job: JobRow, after: Cursor | undefined): Promise<Prepared | undefined> {
    const tenantId = job.tenantId;
    // The directory's short memory (TENANT_CACHE_MS) bounds how late a kill switch is seen here.
    const view = await this.d.directory.get(tenantId);
    if (!view || view.tenant.state === 'deleted')
      throw new AppError('NOT_FOUND', `tenant ${tenantId} is gone`);
    if (view.tenant.state === 'locked') throw new AppError('TENANT_LOCKED');
    const rows = await reencryptRepository.nextBatch(
      this.d.db,
      tenantId,
      job.targetVersion,
      after,
      this.d.batchSize,
    );
    if (rows.length === 0) return undefined;
    const out = await this.reencrypt(view, job.targetVersion, rows, { requestId: job.id });
    const last = rows[rows.length - 1] as ReencryptRow;
    return { rows: rows.length, out, last: { name: last.name, version: last.version } };
  }

  /** Audits one re-sealed batch, then writes it and its progress in one transaction. */
  private async commit(job: JobRow, batch: Prepared): Promise<JobRow> {
    const owner = this.d.instanceId;
    const tenantId = job.tenantId;
    const failed = batch.rows - batch.out.length;
    await this.d.audit.record(
      { requestId: job.id },
      {
        tenantId,
        action: 'tenant-key.reencrypt',
        outcome: failed === 0 ? 'success' : 'failure',
        resource: `tenants/${tenantId}/jobs/${job.id}`,
        ...(failed ? { errorCode: 'INVALID_CIPHERTEXT' } : {}),
        details: { itemCount: batch.rows, failedCount: failed, keyVersion: job.targetVersion },
      },
    );
    failpoint('rotation:after-batch-seal');
    const changed = await this.d.withTransaction(async (tx) => {
      const n = await reencryptRepository.apply(tx, tenantId, job.targetVersion, batch.out);
      failpoint('rotation:before-batch-commit');
      const saved = await jobRepository.saveProgress(tx, job.id, owner, {
        cursorName: batch.last.name,
        cursorVersion: batch.last.version,
        done: n,
        errors: failed,
        leaseMs: this.d.leaseMs,
      });
      if (!saved) throw new LeaseLost();
      return n;
    });
    failpoint('rotation:after-batch-commit');
    return {
      ...job,
      cursorName: batch.last.name,
      cursorVersion: batch.last.version,
      done: job.done + changed,
      errors: job.errors + failed,
      failures: 0,
    };
  }

  /**
   * At the end of a pass: done when no row is left on an older key; another pass when rows were
   * written under an old key meanwhile; failed when only unreadable rows remain.
   */
  private async endPass(job: JobRow): Promise<JobRow | undefined> {
    const { db } = this.d;
    const owner = this.d.instanceId;
    const remaining = await reencryptRepository.countBelow(db, job.tenantId, job.targetVersion);
    if (remaining === 0) {
      await jobRepository.finish(db, job.id, owner, 'succeeded', null);
      return undefined;
    }
    if (remaining > job.errors && job.pass < MAX_PASSES) {
      if (!(await jobRepository.startPass(db, job.id, owner, job.done + remaining))) throw new LeaseLost();
      return this.reload(job);
    }
    await jobRepository.finish(db, job.id, owner, 'failed', `UNREADABLE_RECORDS: ${remaining}`);
    return undefined;
  }

  private async reload(job: JobRow): Promise<JobRow> {
    const fresh = await jobRepository.get(this.d.db, job.tenantId, job.id);
    if (!fresh || fresh.state !== 'running' || fresh.leaseOwner !== this.d.instanceId) throw new LeaseLost();
    return fresh;
  }

  /**
   * Opens each row with its old key version and seals it under `target` with the same context,
   * proving each new ciphertext opens to the same bytes. Rows that cannot be opened are left out
   * (counted as errors, left untouched); a KMS failure throws and pauses the job.
   */
  private async reencrypt(
    view: TenantView,
    target: number,
    rows: readonly ReencryptRow[],
    actor: AuditActor,
  ): Promise<ReencryptedRow[]> {
    const tenantId = view.tenant.id;
    const plain = new Map<ReencryptRow, Buffer>();
    try {
      const versions = [...new Set(rows.map((r) => r.tkVersion))];
      for (const v of versions) {
        const group = rows.filter((r) => r.tkVersion === v);
        try {
          await this.d.tenantKeys.use(view, v, actor, (key) => {
            for (const r of group) {
              try {
                plain.set(
                  r,
                  open(key, r.ciphertext, { tenantId, context: secretContext(r.name, r.version, r.kind) }),
                );
              } catch {
                // A row that does not open stays as it is; it is counted, never overwritten.
              }
            }
          });
        } catch (err) {
          // A missing or destroyed key version makes its rows unreadable; anything else is transient.
          if (!(err instanceof AppError && err.code === 'INVALID_CIPHERTEXT')) throw err;
        }
      }
      if (plain.size === 0) return [];
      return await this.d.tenantKeys.use(view, target, actor, (key) => {
        const out: ReencryptedRow[] = [];
        for (const [r, pt] of plain) {
          const context = secretContext(r.name, r.version, r.kind);
          const ciphertext = seal(key, pt, { tenantId, tkVersion: target, context });
          const back = open(key, ciphertext, { tenantId, context });
          const same = back.equals(pt);
          zeroize(back);
          if (!same) continue;
          out.push({
            name: r.name,
            version: r.version,
            oldTkVersion: r.tkVersion,
            ciphertext,
            fingerprint: fingerprintSecret(key, pt.toString('utf8')),
          });
        }
        return out;
      });
    } finally {
      for (const pt of plain.values()) zeroize(pt);
    }
  }
}
