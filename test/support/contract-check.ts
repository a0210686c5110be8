import { findOperation, responseMismatch } from '@byok/contract';

/**
 * Throws when a reply does not match the contract entry of its operation (looked up by method
 * and path; a path no operation serves is not checked: it answers the generic 404).
 */
export function assertContractReply(
  method: string,
  path: string,
  status: number,
  contentType: string | null,
  text: string,
): void {
  const op = findOperation(method, path);
  if (!op) return;
  const why = responseMismatch(op, status, contentType, text);
  if (why) throw new Error(`${method} ${path} -> ${status}: reply does not match contract ${op.id}: ${why}`);
}
