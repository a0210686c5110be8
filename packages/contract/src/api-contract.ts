import { aiOperations } from './ai-operations.js';
import { auditOperations } from './audit-operations.js';
import { cryptoOperations } from './crypto-operations.js';
import { keyOperations } from './key-operations.js';
import type { HttpMethod, OperationDef } from './operation.js';
import { platformOperations } from './platform-operations.js';
import { rateLimitOperations } from './rate-limit-operations.js';
import { secretOperations } from './secret-operations.js';
import { tenantOperations } from './tenant-operations.js';
import { tokenOperations } from './token-operations.js';
import { usageOperations } from './usage-operations.js';

const { aiGatewayPost, aiGatewayGet, aiGatewayDelete, ...aiManagementOperations } = aiOperations;

/**
 * Every route of the API, once. The order is the order the service registers them in: the hot
 * paths (encrypt, decrypt, the AI gateway) first, since each route before a request's own is a
 * match attempt. The gateway's catch-all paths need `/ai/{secretName}/` and a path below it, so
 * they match no other route (`/ai/budget`, `/ai/budgets` have nothing below them).
 */
export const apiContract = {
  ...cryptoOperations,
  aiGatewayPost,
  aiGatewayGet,
  aiGatewayDelete,
  ...secretOperations,
  ...tenantOperations,
  ...keyOperations,
  ...tokenOperations,
  ...auditOperations,
  ...platformOperations,
  ...rateLimitOperations,
  ...usageOperations,
  ...aiManagementOperations,
};

/** The contract's type: operation id to its entry. */
export type ApiContract = typeof apiContract;
/** One operation id of the contract. */
export type OperationId = keyof ApiContract;

/** The entries of a contract as a list, in registration order. */
export function operationsOf(contract: Readonly<Record<string, OperationDef>>): OperationDef[] {
  return Object.values(contract);
}

const templates = operationsOf(apiContract).map((op) => ({
  op,
  re: new RegExp(
    `^${op.path
      .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
      .replace(op.catchAll ? /\{[A-Za-z0-9_]+\}$/ : /^$/, '.+')
      .replace(/\{[A-Za-z0-9_]+\}/g, '[^/]+')}$`,
  ),
}));

/** The operation a request is for (method and URL path, query ignored), as express would match it. */
export function findOperation(method: string, path: string): OperationDef | undefined {
  const m = method.toLowerCase() as HttpMethod;
  const p = path.split('?')[0] ?? '';
  return templates.find((t) => t.op.method === m && t.re.test(p))?.op;
}
