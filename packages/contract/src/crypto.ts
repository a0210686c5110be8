import { z } from 'zod';
import {
  Base64,
  Base64Url,
  Context,
  MAX_BATCH_ITEMS,
  MAX_PLAINTEXT_BYTES,
  OpenContext,
  Purpose,
} from './common.js';
import { ERROR_CODES } from './problem.js';

const plaintext = Base64.max(Math.ceil(MAX_PLAINTEXT_BYTES / 3) * 4, 'plaintext: at most 1 MiB');

/** `POST /v1/tenants/{tenantId}/encrypt` */
export const EncryptRequest = z.strictObject({ plaintext, context: Context.optional() });
/** Encrypt result: an envelope v1 ciphertext, base64url. */
export const EncryptResponse = z.object({ ciphertext: Base64Url, keyVersion: z.number().int() });

/** `POST /v1/tenants/{tenantId}/decrypt` */
export const DecryptRequest = z.strictObject({
  ciphertext: Base64Url.max(2 * 1024 * 1024),
  context: OpenContext.optional(),
  purpose: Purpose.optional(),
});
/** Decrypt result: the plaintext, base64. */
export const DecryptResponse = z.object({ plaintext: Base64 });

/** `POST .../encrypt/batch` */
export const EncryptBatchRequest = z.strictObject({
  items: z.array(EncryptRequest).min(1).max(MAX_BATCH_ITEMS),
});
/** `POST .../decrypt/batch` (one purpose for the whole batch) */
export const DecryptBatchRequest = z.strictObject({
  // Items are checked one by one: a malformed ciphertext fails its own item, not the batch.
  items: z
    .array(
      z.strictObject({
        ciphertext: z
          .string()
          .min(1)
          .max(2 * 1024 * 1024),
        context: OpenContext.optional(),
      }),
    )
    .min(1)
    .max(MAX_BATCH_ITEMS),
  purpose: Purpose.optional(),
});

/** A per-item failure inside a batch. */
export const ItemError = z.object({ code: z.enum(ERROR_CODES), detail: z.string() });

/** Per-item encrypt results, in request order. */
export const EncryptBatchResponse = z.object({
  results: z.array(
    z.union([
      z.object({ ok: z.literal(true), ciphertext: Base64Url }),
      z.object({ ok: z.literal(false), error: ItemError }),
    ]),
  ),
});
/** Per-item decrypt results, in request order. */
export const DecryptBatchResponse = z.object({
  results: z.array(
    z.union([
      z.object({ ok: z.literal(true), plaintext: Base64 }),
      z.object({ ok: z.literal(false), error: ItemError }),
    ]),
  ),
});
