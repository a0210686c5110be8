import { aiProviderOf } from '../domain/ai/providers/index.js';
import type { SecretRecord } from '../domain/secrets/secret-catalog.js';
import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';

/** Metadata only: an allow-list, so a value can never slip into a listing. */
const metadataBody = (s: SecretRecord) => ({
  name: s.name,
  kind: s.kind,
  version: s.currentVersion,
  hint: s.hint,
  fingerprint: s.fingerprint,
  labels: s.labels,
  createdAt: s.createdAt.toISOString(),
  updatedAt: s.versionCreatedAt.toISOString(),
  // AI provider keys show their health (the gateway's view of the current version).
  ...(aiProviderOf(s.kind)
    ? {
        ai: {
          state: s.aiState,
          reason: s.aiStateReason,
          since: s.aiStateSince ? s.aiStateSince.toISOString() : null,
        },
      }
    : {}),
});

const secretNotFound = () => new AppError('NOT_FOUND', 'secret not found');

/** Tenant secrets (AI provider API keys first): put, list, get, reveal, delete. */
export function secretHandlers(
  deps: RouteDeps,
): ContractHandlers<'putSecret' | 'listSecrets' | 'getSecret' | 'revealSecret' | 'deleteSecret'> {
  return {
    putSecret: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'secret.write');
      const name = input.param(req, 'name');
      if (name === undefined) throw secretNotFound();
      const body = input.body(req);
      if (body.validate) {
        if (!deps.aiGateway) throw new AppError('VALIDATION_FAILED', 'key validation is not available');
        await deps.aiGateway.validateKey(view, actorOf(res), name, body.kind, body.value, body.endpoint);
      }
      const row = await deps.secrets.put(view, actorOf(res), name, body.kind, body.value, body.labels ?? {}, {
        endpoint: body.endpoint,
      });
      res.status(row.currentVersion === 1 ? 201 : 200).json(metadataBody(row));
    },

    listSecrets: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'secret.list', { allowLocked: true });
      const q = input.query(req);
      const page = await deps.secretCatalog.page(view.tenant.id, q.cursor, q.limit ?? 100);
      res.json({ secrets: page.rows.map(metadataBody), nextCursor: page.nextCursor });
    },

    getSecret: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'secret.list', { allowLocked: true });
      const name = input.param(req, 'name');
      const row = name === undefined ? undefined : await deps.secretCatalog.get(view.tenant.id, name);
      if (!row) throw secretNotFound();
      res.json(metadataBody(row));
    },

    revealSecret: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'secret.reveal');
      const name = input.param(req, 'name');
      if (name === undefined) throw secretNotFound();
      const body = input.body(req) ?? {};
      const revealed = await deps.secrets.reveal(view, actorOf(res), name, body.purpose, body.version);
      res.setHeader('Cache-Control', 'no-store');
      res.json(revealed);
    },

    deleteSecret: async (req, res, input) => {
      const view = await tenantAccess(deps, req, res, 'secret.delete');
      const name = input.param(req, 'name');
      if (name === undefined || !(await deps.secrets.delete(view, actorOf(res), name)))
        throw secretNotFound();
      res.status(204).end();
    },
  };
}
