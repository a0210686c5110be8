import { z } from 'zod';
import { Purpose, Timestamp, withoutProtoKey } from './common.js';

/** Kinds of secret, with format checks; AI provider API keys come first. */
export const SecretKind = z.enum(['openai', 'anthropic', 'google', 'azure-openai', 'generic']);
/** One of {@link SecretKind}. */
export type SecretKind = z.infer<typeof SecretKind>;

/** Format rule per kind; a value that fails it is refused before anything is stored. */
export const SECRET_FORMATS: Record<SecretKind, { pattern: RegExp; description: string; prefix: string }> = {
  openai: {
    pattern: /^sk-[A-Za-z0-9_-]{20,256}$/,
    description: 'an OpenAI key starts with sk-',
    prefix: 'sk-',
  },
  anthropic: {
    pattern: /^sk-ant-[A-Za-z0-9_-]{20,256}$/,
    description: 'an Anthropic key starts with sk-ant-',
    prefix: 'sk-ant-',
  },
  google: {
    pattern: /^AIza[0-9A-Za-z_-]{35}$/,
    description: 'a Google AI key is AIza followed by 35 characters',
    prefix: 'AIza',
  },
  'azure-openai': {
    pattern: /^[A-Za-z0-9]{32,128}$/,
    description: 'an Azure OpenAI key is 32-128 letters and digits',
    prefix: '',
  },
  generic: {
    pattern: /^[\x20-\x7E]{1,8192}$/,
    description: 'a generic secret is 1-8192 printable ASCII characters',
    prefix: '',
  },
};

/**
 * An Azure OpenAI resource endpoint: `https://<resource>.openai.azure.com` or
 * `https://<resource>.cognitiveservices.azure.com`, nothing else (no path, port, credentials).
 */
export const AzureOpenAiEndpoint = z
  .string()
  .max(300)
  .regex(
    /^https:\/\/[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?\.(?:openai\.azure\.com|cognitiveservices\.azure\.com)\/?$/,
    'endpoint: https://<resource>.openai.azure.com or https://<resource>.cognitiveservices.azure.com',
  )
  .transform((e) => e.replace(/\/$/, ''));

/** Secret name as it appears in the URL. */
export const SecretName = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    'secret name: 1-128 letters, digits, dots, dashes, underscores',
  );

/** `PUT /v1/tenants/{tenantId}/secrets/{name}` */
export const PutSecretRequest = z
  .strictObject({
    value: z.string().min(1).max(8192),
    kind: SecretKind,
    // Label keys: a stricter subset of CONTEXT_KEY_PATTERN (lower case, no colon, no leading
    // punctuation), kept as it was so stored labels and the tests of it keep their meaning.
    labels: withoutProtoKey(
      z
        .record(z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/), z.string().max(256))
        .refine((l) => Object.keys(l).length <= 32, 'labels: at most 32'),
    ).optional(),
    /** Kind `azure-openai` only: the resource endpoint the gateway calls with this key. */
    endpoint: AzureOpenAiEndpoint.optional(),
    /** AI kinds: check the key against the provider's cheapest authenticated endpoint before storing it. */
    validate: z.boolean().optional(),
  })
  .superRefine((req, ctx) => {
    if (req.kind !== 'azure-openai' && req.endpoint !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: 'endpoint applies to kind azure-openai only',
      });
    if (req.validate && req.kind === 'generic')
      ctx.addIssue({ code: 'custom', path: ['validate'], message: 'only AI provider keys can be validated' });
    const rule = SECRET_FORMATS[req.kind];
    if (!rule.pattern.test(req.value))
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `value does not look like a ${req.kind} key: ${rule.description}`,
      });
  });

/** Secret metadata: never the value. */
export const SecretMetadata = z.object({
  name: SecretName,
  kind: SecretKind,
  version: z.number().int(),
  hint: z.string(),
  fingerprint: z.string(),
  labels: z.record(z.string(), z.string()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /**
   * AI provider keys only: whether the gateway uses the current version. `invalid`: the provider
   * refused it (`reason` holds the provider's error code) and calls get 424 until a new version is
   * stored; `suspended`: the tenant's spike policy suspended it (423 until a new version).
   */
  ai: z
    .object({
      state: z.enum(['active', 'invalid', 'suspended']),
      reason: z.string().nullable(),
      since: Timestamp.nullable(),
    })
    .optional(),
});

/** `GET .../secrets` */
export const SecretList = z.object({ secrets: z.array(SecretMetadata), nextCursor: z.string().nullable() });

/** `GET .../secrets` query: keyset paging by name. */
export const SecretListQuery = z.strictObject({
  cursor: SecretName.optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** `POST .../secrets/{name}/reveal` */
export const RevealRequest = z.strictObject({
  purpose: Purpose.optional(),
  version: z.number().int().min(1).optional(),
});
/** The one response that carries a secret's value. */
export const RevealResponse = z.object({ value: z.string(), version: z.number().int() });
