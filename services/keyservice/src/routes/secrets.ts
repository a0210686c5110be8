import { PutSecretRequest, RevealRequest, SecretName } from '@byok/contract';
import { secretRepository, type SecretRow } from '@byok/store';
import { Router, type IRouter, type Request } from 'express';
import { z } from 'zod';
import { AppError } from '../errors.js';
import { actorOf, tenantAccess, type AppDeps } from '../http/context.js';

/** Metadata only: an allow-list, so a value can never slip into a listing. */
const metadataBody = (s: SecretRow) => ({
  name: s.name,
  kind: s.kind,
  version: s.currentVersion,
  hint: s.hint,
  fingerprint: s.fingerprint,
  labels: s.labels,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.versionCreatedAt.toISOString(),
});

const ListQuery = z.strictObject({
  cursor: SecretName.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

function secretName(req: Request): string {
  const parsed = SecretName.safeParse(req.params.name);
  if (!parsed.success) throw new AppError('NOT_FOUND', 'secret not found');
  return parsed.data;
}

/** Tenant secrets (AI provider API keys first): put, list, get, reveal, delete. */
export function secretRoutes(deps: AppDeps, r: IRouter = Router()): IRouter {
  r.put('/v1/tenants/:tenantId/secrets/:name', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'secret.write');
    const name = secretName(req);
    const body = PutSecretRequest.parse(req.body);
    const row = await deps.secrets.put(view, actorOf(res), name, body.kind, body.value, body.labels ?? {});
    res.status(row.currentVersion === 1 ? 201 : 200).json(metadataBody(row));
  });

  r.get('/v1/tenants/:tenantId/secrets', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'secret.list', { allowLocked: true });
    const q = ListQuery.parse(req.query);
    const limit = q.limit ?? 100;
    const rows = await secretRepository.list(deps.db, view.tenant.id, {
      ...(q.cursor ? { after: q.cursor } : {}),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    res.json({
      secrets: page.map(metadataBody),
      nextCursor: rows.length > limit ? (page.at(-1)?.name ?? null) : null,
    });
  });

  r.get('/v1/tenants/:tenantId/secrets/:name', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'secret.list', { allowLocked: true });
    const row = await secretRepository.get(deps.db, view.tenant.id, secretName(req));
    if (!row) throw new AppError('NOT_FOUND', 'secret not found');
    res.json(metadataBody(row));
  });

  r.post('/v1/tenants/:tenantId/secrets/:name/reveal', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'secret.reveal');
    const name = secretName(req);
    const body = RevealRequest.parse(req.body ?? {});
    const revealed = await deps.secrets.reveal(view, actorOf(res), name, body.purpose, body.version);
    res.setHeader('Cache-Control', 'no-store');
    res.json(revealed);
  });

  r.delete('/v1/tenants/:tenantId/secrets/:name', async (req, res) => {
    const view = await tenantAccess(deps, req, res, 'secret.delete');
    if (!(await deps.secrets.delete(view, actorOf(res), secretName(req))))
      throw new AppError('NOT_FOUND', 'secret not found');
    res.status(204).end();
  });

  return r;
}
