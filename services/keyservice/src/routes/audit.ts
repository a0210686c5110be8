import type { Response } from 'express';
import type { AuditFilters } from '../domain/audit/audit-queries.js';
import type { Principal } from '../domain/tokens/token-service.js';
import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, principalOf, type RouteDeps } from '../http/context.js';

/** Which chain a principal may read: its own tenant, or any for platform admins and global auditors. */
async function auditScope(
  deps: RouteDeps,
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
async function tenantScope(deps: RouteDeps, res: Response, requested: string | undefined): Promise<string> {
  const tenantId = await auditScope(deps, principalOf(res), requested, actorOf(res));
  if (!tenantId)
    throw new AppError('VALIDATION_FAILED', 'tenantId is required', {
      errors: [{ path: 'tenantId', message: 'required' }],
    });
  return tenantId;
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

/** Query, export, verification, checkpoints and KMS reconciliation of the audit log. */
export function auditHandlers(
  deps: RouteDeps,
): ContractHandlers<
  | 'queryAudit'
  | 'verifyAudit'
  | 'exportAudit'
  | 'getAuditPublicKey'
  | 'listAuditPublicKeys'
  | 'createCheckpoint'
  | 'listCheckpoints'
  | 'listKmsCalls'
> {
  return {
    queryAudit: async (req, res, input) => {
      const principal = principalOf(res);
      const q = input.query(req);
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
    },

    verifyAudit: async (req, res, input) => {
      const q = input.query(req);
      const tenantId = await tenantScope(deps, res, q.tenantId);
      res.json(await deps.auditLog.verify(tenantId, q.full === 'true'));
    },

    exportAudit: async (req, res, input) => {
      const q = input.query(req);
      const tenantId = await tenantScope(deps, res, q.tenantId);
      // Audited after the stream, so an export shows the chain exactly as it was when requested
      // (it carries no plaintext or secrets, so fail-closed ordering is not needed here).
      const recordExport = (outcome: 'success' | 'failure' | 'denied', errorCode?: string) =>
        deps.audit.record(actorOf(res), {
          tenantId,
          action: 'audit.export',
          outcome,
          resource: `audit/${tenantId}`,
          ...(errorCode ? { errorCode } : {}),
          details: { reason: q.format },
        });
      res.status(200);
      res.setHeader('Content-Type', q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson');
      res.setHeader('Content-Disposition', `attachment; filename="audit-${tenantId}.${q.format}"`);
      try {
        await deps.auditLog.export(tenantId, q.format, async (chunk) => {
          if (!res.write(chunk)) await drained(res);
        });
      } catch (err) {
        // Refused before the first byte (too many exports running): a plain problem answer.
        if (!res.headersSent) {
          res.removeHeader('Content-Disposition');
          res.removeHeader('Content-Type');
          // A refusal is audited like any other (an audit failure answers AUDIT_UNAVAILABLE instead).
          if ((err as { code?: unknown }).code === 'EXPORT_BUSY') await recordExport('denied', 'EXPORT_BUSY');
          throw err;
        }
        deps.logger.warn({ tenantId, err: (err as Error).message }, 'audit export aborted');
        // Headers are gone: cut the stream so the client sees an incomplete (unverifiable) file.
        res.destroy();
        await recordExport('failure').catch(() => undefined);
        return;
      }
      await recordExport('success');
      res.end();
    },

    getAuditPublicKey: (_req, res) => {
      principalOf(res);
      res.json(deps.auditLog.publicKey());
    },

    listAuditPublicKeys: async (_req, res) => {
      principalOf(res);
      res.json(await deps.auditLog.publicKeys());
    },

    createCheckpoint: async (req, res, input) => {
      const body = input.body(req) ?? {};
      const tenantId = await tenantScope(deps, res, body.tenantId);
      const result = await deps.auditLog.checkpoint(tenantId, actorOf(res));
      if ('refused' in result && result.refused) {
        res.status(409).json({ created: false, checkpoint: null, refused: result.refused });
        return;
      }
      if (!result.checkpoint) throw new AppError('NOT_FOUND', `the audit chain of ${tenantId} is empty`);
      res.status(result.created ? 201 : 200).json(result);
    },

    listCheckpoints: async (req, res, input) => {
      const q = input.query(req);
      const tenantId = await tenantScope(deps, res, q.tenantId);
      res.json({ checkpoints: await deps.auditLog.checkpoints(tenantId, q.afterSeq ?? 0) });
    },

    listKmsCalls: async (req, res, input) => {
      const q = input.query(req);
      const tenantId = await tenantScope(deps, res, q.tenantId);
      const filters = {
        action: q.action,
        ...(q.since ? { since: new Date(q.since) } : {}),
        ...(q.until ? { until: new Date(q.until) } : {}),
      };
      res.json(await deps.auditLog.kmsCalls(tenantId, filters, q.cursor, q.limit ?? 100));
    },
  };
}
