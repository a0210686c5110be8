import {
  exportInSnapshot,
  listCheckpoints,
  queryEvents,
  verifyChainFromMark,
  verifyCheckpoints,
  type CheckpointResult,
  type ExportFormat,
  type SignedCheckpoint,
} from '@byok/audit';
import type { Db } from '@byok/store';
import { AppError } from '../../errors.js';
import type { AuditActor } from './audit-recorder.js';
import type { AuditSecurity } from './audit-security.js';

/** What {@link AuditLogService} needs. */
export interface AuditLogDeps {
  db: Db;
  withTransaction: <T>(fn: (db: Db) => Promise<T>) => Promise<T>;
  /** Checkpoint signing; the checkpoint and public-key operations answer NOT_FOUND without it. */
  security?: AuditSecurity | undefined;
  /** Exports of one tenant running at once on this instance; more answer EXPORT_BUSY. */
  exportsPerTenant?: number;
  /** Milliseconds an export may take in all: a slow reader is cut off, its snapshot and connection released. */
  exportDeadlineMs?: number;
}

/** Result of verifying a chain, with its checkpoints when signing is configured. */
export type AuditVerification = Omit<Awaited<ReturnType<typeof verifyChainFromMark>>, 'reason'> & {
  reason?: string;
  checkpointsVerified?: number;
  checkpointSeq?: number;
};

/** One KMS call as recorded in the audit log. */
export interface KmsCallView {
  seq: number;
  at: string;
  operation: string;
  provider: string | null;
  keyRef: string | null;
  kmsRequestId: string | null;
  outcome: string;
  errorCode: string | null;
  requestId: string | null;
}

/** The audit log's read side beyond plain queries: verification, export, checkpoints, KMS calls. */
export class AuditLogService {
  private readonly exporting = new Map<string, number>();

  constructor(private readonly deps: AuditLogDeps) {}

  /**
   * Verifies the chain from the point last verified (the whole chain with `full`); with signing
   * configured, its checkpoints too. A chain break is reported first.
   */
  async verify(tenantId: string, full = false): Promise<AuditVerification> {
    const chain = await verifyChainFromMark(this.deps.db, tenantId, full);
    const sec = this.deps.security;
    if (!sec) return chain;
    const cps = await verifyCheckpoints(this.deps.db, tenantId, await sec.keyring.current());
    const { ok: cpOk, ...cpRest } = cps;
    // The chain names the exact broken row; checkpoints catch a table rewritten and rehashed.
    return chain.ok
      ? { ...chain, ...cpRest, ok: cpOk }
      : { ...chain, checkpointsVerified: cps.checkpointsVerified };
  }

  /**
   * Streams the chain's export from one snapshot through `write`. The snapshot holds a pooled
   * connection, so a tenant gets at most `exportsPerTenant` at once and each ends by the deadline
   * (a write still waiting for a slow reader then fails, and the transaction rolls back).
   */
  async export(
    tenantId: string,
    format: ExportFormat,
    write: (chunk: string) => Promise<void> | void,
  ): Promise<void> {
    const running = this.exporting.get(tenantId) ?? 0;
    if (running >= (this.deps.exportsPerTenant ?? 2)) {
      throw new AppError('EXPORT_BUSY', `${running} audit exports of tenant ${tenantId} are running`, {
        retryAfterSeconds: 5,
      });
    }
    this.exporting.set(tenantId, running + 1);
    const deadlineMs = this.deps.exportDeadlineMs ?? 60000;
    const deadline = Date.now() + deadlineMs;
    try {
      await this.deps.withTransaction((tx) =>
        exportInSnapshot(tx, tenantId, { format }, (chunk) =>
          beforeDeadline(deadline, deadlineMs, () => write(chunk)),
        ),
      );
    } finally {
      const left = (this.exporting.get(tenantId) ?? 1) - 1;
      if (left > 0) this.exporting.set(tenantId, left);
      else this.exporting.delete(tenantId);
    }
  }

  /** The key checkpoints are signed with. */
  publicKey(): { algorithm: 'Ed25519'; keyId: string; publicKeyPem: string } {
    const { signer } = this.security().signingKey;
    return { algorithm: 'Ed25519', keyId: signer.keyId, publicKeyPem: signer.publicKeyPem };
  }

  /** The trusted checkpoint keys with their validity periods (public keys only). */
  publicKeys(): ReturnType<AuditSecurity['keyring']['list']> {
    return this.security().keyring.list();
  }

  /** Signs the chain head (after verifying the events since the last checkpoint); audited. */
  checkpoint(tenantId: string, actor: AuditActor): Promise<CheckpointResult> {
    return this.security().checkpointer.checkpoint(tenantId, actor);
  }

  /** The chain's signed checkpoints after `afterSeq`. */
  checkpoints(tenantId: string, afterSeq: number): Promise<SignedCheckpoint[]> {
    this.security();
    return listCheckpoints(this.deps.db, tenantId, afterSeq, 500);
  }

  /** One page of the tenant's KMS calls of one kind, for reconciliation with the cloud's log. */
  async kmsCalls(
    tenantId: string,
    filters: { action: string; since?: Date | undefined; until?: Date | undefined },
    cursor: string | undefined,
    limit: number,
  ): Promise<{ calls: KmsCallView[]; nextCursor: string | null }> {
    const page = await queryEvents(
      this.deps.db,
      {
        tenantId,
        action: filters.action,
        ...(filters.since ? { since: filters.since } : {}),
        ...(filters.until ? { until: filters.until } : {}),
      },
      cursor,
      limit,
    );
    return {
      calls: page.events.map((e) => ({
        seq: e.seq,
        at: e.at.toISOString(),
        operation: e.action,
        provider: e.kmsProvider,
        keyRef: e.kmsKeyRef,
        kmsRequestId: e.kmsRequestId,
        outcome: e.outcome,
        errorCode: e.errorCode,
        requestId: e.requestId,
      })),
      nextCursor: page.nextCursor,
    };
  }

  private security(): AuditSecurity {
    if (!this.deps.security) throw new AppError('NOT_FOUND', 'audit signing is not configured');
    return this.deps.security;
  }
}

/** Runs `write`, failing once `deadline` passes (also while the write waits for the reader). */
async function beforeDeadline(
  deadline: number,
  deadlineMs: number,
  write: () => Promise<void> | void,
): Promise<void> {
  const late = () => new AppError('EXPORT_BUSY', `audit export exceeded its deadline of ${deadlineMs} ms`);
  const left = deadline - Date.now();
  if (left <= 0) throw late();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      write(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(late()), left);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
