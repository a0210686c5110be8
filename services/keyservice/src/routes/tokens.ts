import type { TokenRecord } from '../domain/tokens/token-admin-service.js';
import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, principalOf, tenantAccess, type RouteDeps } from '../http/context.js';

const tokenBody = (t: TokenRecord) => ({
  id: t.id,
  name: t.name,
  role: t.role,
  tenantId: t.tenantId,
  createdAt: t.createdAt.toISOString(),
  revokedAt: t.revokedAt ? t.revokedAt.toISOString() : null,
});

/** Issuing, listing and revoking bearer tokens. */
export function tokenHandlers(
  deps: RouteDeps,
): ContractHandlers<'createToken' | 'listTokens' | 'revokeToken'> {
  return {
    createToken: async (req, res, input) => {
      const principal = principalOf(res);
      const body = input.body(req);
      const { row, token } = await deps.tokenAdmin.issue(
        principal,
        { name: body.name, role: body.role, tenantId: body.tenantId ?? null },
        actorOf(res),
      );
      res.status(201).json({ id: row.id, token, name: row.name, role: row.role, tenantId: row.tenantId });
    },

    listTokens: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'token.read', { allowLocked: true });
      res.json({ tokens: (await deps.tokenAdmin.list(view.tenant.id)).map(tokenBody) });
    },

    revokeToken: async (req, res) => {
      const view = await tenantAccess(deps, req, res, 'token.revoke', { allowLocked: true });
      if (!(await deps.tokenAdmin.revoke(view.tenant.id, String(req.params.tokenId), actorOf(res))))
        throw new AppError('NOT_FOUND', 'token not found');
      res.status(204).end();
    },
  };
}
