import {
  createCheckpoint,
  exportLines,
  listCheckpoints,
  queryEvents,
  verifyCheckpoints,
  verifyChain,
} from '@byok/audit';
import { AuditQuery, TenantId } from '@byok/contract';
import { Router, type IRouter, type Response } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { actorOf, principalOf, type AppDeps } from '../http/context.js';
import type { AuditFilters } from '../domain/audit/audit-queries.js';
import type { AuditSecurity } from '../domain/audit/audit-security.js';
import type { Principal } from '../domain/tokens/token-service.js';
import { auditSinkRoutes } from './audit-sinks.js';

/** Which chain a principal may read: its own tenant, or any for platform admins and global auditors. */
async function auditScope(
  deps: AppDeps,
  principal: Principal,
  requested: string | undefined,
  actor: ReturnType<typeof actorOf>,
): Promise<string | undefined> {
  const global =
    principal.role === 'platform-admin' || (principal.role === 'auditor' && principal.tenantId === null);
  if (global) return requested;
  const mayRead = principal.role === 'auditor' || principal.role === 'tenant-admin';
  if (mayRead && principal.tenantId && (requested === undefined || requested === principal.tenantId))
    return principal.tenantId;
  await deps.audit.record(actor, {
    tenantId: requested && (await deps.directory.get(requested)) ? requested : null,
    action: 'audit.read',
    outcome: 'denied',
    resource: `audit/${requested ?? '(all)'}`,
    errorCode: 'FORBIDDEN',
  });
  throw new AppError('FORBIDDEN', 'this token may not read that audit log');
}

/** The one tenant chain a request is about (required). */
async function tenantScope(deps: AppDeps, res: Response, requested: string | undefined): Promise<string> {
  const tenantId = await auditScope(deps, principalOf(res), requested, actorOf(res));
  if (!tenantId)
    throw new AppError('VALIDATION_FAILED', 'tenantId is required', {
      errors: [{ path: 'tenantId', message: 'required' }],
    });
  return tenantId;
}

function security(deps: AppDeps): AuditSecurity {
  if (!deps.auditSecurity) throw new AppError('NOT_FOUND', 'audit signing is not configured');
  return deps.auditSecurity;
}

/** Resolves when `res` can take more data, or rejects when the client went away. */
function drained(res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve();
    };
    const onClose = () => {
      res.off('drain', onDrain);
      reject(new AppError('VALIDATION_FAILED', 'client closed the export'));
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

const TenantOnly = z.strictObject({ tenantId: TenantId.optional() });
const ExportQuery = z.strictObject({
  tenantId: TenantId.optional(),
  format: z.enum(['ndjson', 'csv']).default('ndjson'),
});
const KmsCallsQuery = z.strictObject({
  tenantId: TenantId.optional(),
  action: z.enum(['kms.unwrap', 'kms.wrap']).default('kms.unwrap'),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(512).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
const CheckpointBody = z.strictObject({ tenantId: TenantId.optional() });
const CheckpointList = z.strictObject({
  tenantId: TenantId.optional(),
  afterSeq: z.coerce.number().int().min(0).optional(),
});

/** Query, export, verification, checkpoints, KMS reconciliation and SIEM sinks of the audit log. */
export function auditRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.get('/v1/audit', async (req, res) => {
    const principal = principalOf(res);
    const q = AuditQuery.parse(req.query);
    const tenantId = await auditScope(deps, principal, q.tenantId, actorOf(res));
    const filters: AuditFilters = {};
    if (tenantId) filters.tenantId = tenantId;
    if (q.action) filters.action = q.action;
    if (q.outcome) filters.outcome = q.outcome;
    if (q.actorTokenId) filters.actorTokenId = q.actorTokenId;
    if (q.purpose) filters.purpose = q.purpose;
    if (q.resource) filters.resource = q.resource;
    if (q.since) filters.since = new Date(q.since);
    if (q.until) filters.until = new Date(q.until);
    res.json(await deps.auditQueries.query(filters, q.cursor, q.limit ?? 100));
  });

  r.get('/v1/audit/verify', async (req, res) => {
    const q = TenantOnly.parse(req.query);
    const tenantId = await tenantScope(deps, res, q.tenantId);
    const chain = await verifyChain(deps.db, tenantId);
    const sec = deps.auditSecurity;
    if (!sec) {
      res.json(chain);
      return;
    }
    const cps = await verifyCheckpoints(deps.db, tenantId, sec.signingKey.publicKeys);
    const { ok: cpOk, ...cpRest } = cps;
    // A chain break is reported first: it names the exact row; checkpoints catch rehashed tables.
    res.json(
      chain.ok
        ? { ...chain, ...cpRest, ok: cpOk }
        : { ...chain, checkpointsVerified: cps.checkpointsVerified },
    );
  });

  r.get('/v1/audit/export', async (req, res) => {
    const q = ExportQuery.parse(req.query);
    const tenantId = await tenantScope(deps, res, q.tenantId);
    // Audited after the stream, so an export shows the chain exactly as it was when requested
    // (it carries no plaintext or secrets, so fail-closed ordering is not needed here).
    const recordExport = (outcome: 'success' | 'failure') =>
      deps.audit.record(actorOf(res), {
        tenantId,
        action: 'audit.export',
        outcome,
        resource: `audit/${tenantId}`,
        details: { reason: q.format },
      });
    res.status(200);
    res.setHeader('Content-Type', q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
    res.setHeader('Content-Disposition', `attachment; filename="audit-${tenantId}.${q.format}"`);
    try {
      await deps.withTransaction(async (db) => {
        // One snapshot for events, head and checkpoints (see exportLines).
        await db.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
        for await (const chunk of exportLines(db, tenantId, { format: q.format })) {
          if (!res.write(chunk)) await drained(res);
        }
      });
    } catch (err) {
      deps.logger.warn({ tenantId, err: (err as Error).message }, 'audit export aborted');
      // Headers are gone: cut the stream so the client sees an incomplete (unverifiable) file.
      res.destroy();
      await recordExport('failure').catch(() => undefined);
      return;
    }
    await recordExport('success');
    res.end();
  });

  r.get('/v1/audit/public-key', (_req, res) => {
    principalOf(res);
    const { signer } = security(deps).signingKey;
    res.json({ algorithm: 'Ed25519', keyId: signer.keyId, publicKeyPem: signer.publicKeyPem });
  });

  r.post('/v1/audit/checkpoints', async (req, res) => {
    const body = CheckpointBody.parse(req.body ?? {});
    const tenantId = await tenantScope(deps, res, body.tenantId);
    const result = await createCheckpoint(deps.db, tenantId, security(deps).signingKey.signer);
    if ('refused' in result && result.refused) {
      deps.logger.error(
        { tenantId, ...result.refused },
        'audit chain failed verification; checkpoint NOT signed',
      );
      res.status(409).json({ created: false, checkpoint: null, refused: result.refused });
      return;
    }
    if (!result.checkpoint) throw new AppError('NOT_FOUND', `the audit chain of ${tenantId} is empty`);
    res.status(result.created ? 201 : 200).json(result);
  });

  r.get('/v1/audit/checkpoints', async (req, res) => {
    const q = CheckpointList.parse(req.query);
    const tenantId = await tenantScope(deps, res, q.tenantId);
    security(deps);
    const checkpoints = await listCheckpoints(deps.db, tenantId, q.afterSeq ?? 0, 500);
    res.json({ checkpoints });
  });

  r.get('/v1/audit/kms-calls', async (req, res) => {
    const q = KmsCallsQuery.parse(req.query);
    const tenantId = await tenantScope(deps, res, q.tenantId);
    const page = await queryEvents(
      deps.db,
      {
        tenantId,
        action: q.action,
        ...(q.since ? { since: new Date(q.since) } : {}),
        ...(q.until ? { until: new Date(q.until) } : {}),
      },
      q.cursor,
      q.limit ?? 100,
    );
    res.json({
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
    });
  });

  auditSinkRoutes(deps, r);
  return r;
}
