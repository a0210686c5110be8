import { AuditQuery, SecretName } from '@byok/contract';
import { z } from 'zod';
import { ByokApiError } from './client-errors.js';

/** `/healthz` and `/readyz` bodies. */
export const HealthBody = z.object({ status: z.string() });
/** `GET .../secrets` query (the route's own schema, not exported by the contract). */
export const ListQuery = z.strictObject({
  cursor: SecretName.optional(),
  limit: z.number().int().min(1).max(500).optional(),
});
/** `GET /v1/audit` query with a numeric limit (the contract's coerces from a query string). */
export const AuditQueryIn = AuditQuery.extend({ limit: z.number().int().min(1).max(500).optional() });

/** Checks `input` against a contract schema before anything is sent; issues carry paths, never values. */
export function validate<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new ByokApiError({
    code: 'REQUEST_INVALID',
    detail: `${what} failed validation`,
    errors: r.error.issues.map((i) => ({ path: i.path.join('.') || '(input)', message: i.message })),
  });
}

/** The bytes of a Uint8Array view (not its whole underlying buffer) as a Buffer, without copying. */
export function bytes(input: unknown, what: string): Buffer {
  if (!(input instanceof Uint8Array))
    throw new ByokApiError({ code: 'REQUEST_INVALID', detail: `${what} must be a Uint8Array` });
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Encodes one URL path segment. */
export const seg = (s: string) => encodeURIComponent(s);
