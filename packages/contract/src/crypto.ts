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

/** Bytes a canonical padded base64 string decodes to (without decoding it). */
const decodedLength = (s: string) => (s.length / 4) * 3 - (s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0);

// The length check alone lets 1 MiB + 1 and + 2 bytes through (they encode to as many characters
// as 1 MiB does): the decoded length is what is limited.
const plaintext = Base64.max(Math.ceil(MAX_PLAINTEXT_BYTES / 3) * 4, 'plaintext: at most 1 MiB').refine(
  (s) => decodedLength(s) <= MAX_PLAINTEXT_BYTES,
  'plaintext: at most 1 MiB',
);

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
