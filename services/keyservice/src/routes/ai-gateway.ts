import { SecretName } from '@byok/contract';
import type { Request, Response } from 'express';
import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, tenantAccess, type RouteDeps } from '../http/context.js';

const GATEWAY_URL = /^\/v1\/tenants\/[^/?]+\/ai\/[^/?]+(\/[^?]*)(?:\?(.*))?$/;

/** The provider path and query of a gateway request (as sent: the gateway decodes and allow-lists it). */
function upstreamPartOf(req: Request): { path: string; search: string } {
  const m = GATEWAY_URL.exec(req.originalUrl);
  if (!m) throw new AppError('NOT_FOUND', 'not an AI gateway path');
  return { path: m[1] as string, search: m[2] ?? '' };
}

/** The AI provider gateway: `/v1/tenants/{t}/ai/{secretName}/...` in each provider's own API. */
export function aiGatewayHandlers(
  deps: RouteDeps,
): ContractHandlers<'aiGatewayPost' | 'aiGatewayGet' | 'aiGatewayDelete'> {
  const handle = async (req: Request, res: Response) => {
    res.locals.providerErrorEnvelope = true;
    const view = await tenantAccess(deps, req, res, 'ai.use');
    const secretName = SecretName.safeParse(req.params.secretName);
    if (!deps.aiGateway || !secretName.success) throw new AppError('NOT_FOUND', 'no such AI provider key');
    await deps.aiGateway.handle(req, res, {
      view,
      actor: actorOf(res),
      secretName: secretName.data,
      ...upstreamPartOf(req),
    });
  };
  return { aiGatewayPost: handle, aiGatewayGet: handle, aiGatewayDelete: handle };
}

/**
 * The service token of a gateway request, from whichever header the provider's SDK puts its API
 * key in (`x-api-key`, `x-goog-api-key`, `api-key`); `Authorization: Bearer` is read as everywhere.
 * Only on gateway paths: everywhere else a token is only ever a bearer token.
 */
export function gatewayTokenOf(req: Request): string | undefined {
  if (!GATEWAY_URL.test(req.originalUrl)) return undefined;
  return req.get('x-api-key') ?? req.get('x-goog-api-key') ?? req.get('api-key') ?? undefined;
}
