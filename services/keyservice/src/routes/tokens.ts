import type { TokenRecord } from '../domain/tokens/token-admin-service.js';
import { grantsOf } from '../domain/tokens/token-service.js';
import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, platformAccess, principalOf, tenantAccess, type RouteDeps } from '../http/context.js';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

const tokenBody = (t: TokenRecord) => ({
  id: t.id,
  name: t.name,
  role: t.role,
  tenantId: t.tenantId,
  service: t.service,
  grants: grantsOf(t) ?? null,
  createdAt: t.createdAt.toISOString(),
  expiresAt: iso(t.expiresAt),
  revokedAt: iso(t.revokedAt),
});

const issuedBody = (t: TokenRecord, token: string) => ({
  id: t.id,
  token,
  name: t.name,
  role: t.role,
  tenantId: t.tenantId,
  service: t.service,
  grants: grantsOf(t) ?? null,
  expiresAt: iso(t.expiresAt),
});

/** Issuing, listing, rotating and revoking bearer tokens. */
export function tokenHandlers(
  deps: RouteDeps,
): ContractHandlers<
  'createToken' | 'rotateToken' | 'listPlatformTokens' | 'revokePlatformToken' | 'listTokens' | 'revokeToken'
> {
  return {
    createToken: async (req, res, input) => {
      const principal = principalOf(res);
      const body = input.body(req);
      const { row, token } = await deps.tokenAdmin.issue(
        principal,
        {
          name: body.name,
          role: body.role,
          tenantId: body.tenantId ?? null,
          service: body.service,
          tenantIds: body.tenantIds,
          allTenants: body.allTenants,
          expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined,
        },
        actorOf(res),
      );
      res.status(201).json(issuedBody(row, token));
    },

    rotateToken: async (req, res, input) => {
      const principal = principalOf(res);
      const tokenId = input.param(req, 'tokenId');
      const body = input.body(req);
      if (!tokenId) throw new AppError('NOT_FOUND', 'token not found');
      const { row, token, previousExpiresAt } = await deps.tokenAdmin.rotate(
        principal,
        tokenId,
        {
          overlapSeconds: body.overlapSeconds,
          expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined,
        },
        actorOf(res),
      );
      res.status(201).json({
        ...issuedBody(row, token),
        replaces: tokenId,
        previousExpiresAt: previousExpiresAt.toISOString(),
      });
    },

    listPlatformTokens: async (_req, res) => {
      await platformAccess(deps, res, 'token.platform.read');
      res.json({ tokens: (await deps.tokenAdmin.listPlatform()).map(tokenBody) });
    },

    revokePlatformToken: async (req, res, input) => {
      await platformAccess(deps, res, 'token.platform.revoke');
      const tokenId = input.param(req, 'tokenId');
      if (!tokenId || !(await deps.tokenAdmin.revokePlatform(tokenId, actorOf(res))))
        throw new AppError('NOT_FOUND', 'token not found');
      res.status(204).end();
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
