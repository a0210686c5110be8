import { AppError } from '../errors.js';
import type { ContractHandlers } from '../http/bind-operations.js';
import { actorOf, platformAccess, type RouteDeps } from '../http/context.js';

/**
 * Development only: manage `local:` keys over HTTP so revocation can be shown without a cloud.
 * createApp serves these operations only when the local KMS is enabled (never in production).
 */
export function devLocalKmsHandlers(
  deps: RouteDeps,
): ContractHandlers<'createLocalKey' | 'listLocalKeys' | 'disableLocalKey' | 'enableLocalKey'> {
  const store = () => {
    if (!deps.localKms) throw new AppError('NOT_FOUND', 'the local development KMS is not enabled');
    return deps.localKms;
  };
  const setEnabled = (op: 'disable' | 'enable') =>
    (async (req, res) => {
      await platformAccess(deps, res, 'dev.local-kms');
      const name = String(req.params.name);
      const key = (await store().listKeys()).find((k) => k.name === name);
      if (!key) throw new AppError('NOT_FOUND', `local key local:${name} does not exist`);
      await deps.audit.record(actorOf(res), {
        action: `dev.local-kms.${op}`,
        outcome: 'success',
        resource: `local:${name}`,
      });
      if (op === 'disable') await store().disableKey(name);
      else await store().enableKey(name);
      res.json({ keyRef: `local:${name}`, enabled: op === 'enable' });
    }) satisfies ContractHandlers<'disableLocalKey'>['disableLocalKey'];

  return {
    createLocalKey: async (req, res, input) => {
      await platformAccess(deps, res, 'dev.local-kms');
      const body = input.body(req);
      const existing = (await store().listKeys()).find((k) => k.name === body.name);
      if (existing) throw new AppError('CONFLICT', `local key local:${body.name} already exists`);
      await deps.audit.record(actorOf(res), {
        action: 'dev.local-kms.create',
        outcome: 'success',
        resource: `local:${body.name}`,
      });
      const info = await store().createKey(body.name);
      res
        .status(201)
        .json({ keyRef: `local:${info.name}`, enabled: info.enabled, createdAt: info.createdAt });
    },

    listLocalKeys: async (_req, res) => {
      await platformAccess(deps, res, 'dev.local-kms');
      const keys = await store().listKeys();
      res.json({
        keys: keys.map((k) => ({ keyRef: `local:${k.name}`, enabled: k.enabled, createdAt: k.createdAt })),
      });
    },

    disableLocalKey: setEnabled('disable'),
    enableLocalKey: setEnabled('enable'),
  };
}
