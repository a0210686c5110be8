import { readFile } from 'node:fs/promises';
import { EgressGuard } from '@byok/egress';
import type { KmsProviderModule, ProviderBuildContext } from '@byok/kms';
import { z } from 'zod';
import { azureCredentialFromConfig } from './azure-credential.js';
import { AZURE_PROVIDER, parseAzureKeyRef, refusedVaultHost, type AzureKeyRef } from './azure-key-ref.js';
import { createAzureKeyVaultProvider } from './azure-key-vault-provider.js';
import { azureGrant, isAzureObjectId } from './azure-onboarding.js';
import { egressHttpClient } from './egress-http-client.js';

/** Azure settings: the service principal (else DefaultAzureCredential), emulator overrides, and our identity. */
const AzureConfigSchema = z.object({
  AZURE_TENANT_ID: z.string().optional().describe('Entra tenant of the service principal'),
  AZURE_CLIENT_ID: z.string().optional().describe('service principal client id'),
  AZURE_CLIENT_SECRET: z
    .string()
    .optional()
    .describe('service principal secret (else DefaultAzureCredential)'),
  AZURE_AUTHORITY_HOST: z.string().url().optional().describe('Entra authority override (emulators)'),
  AZURE_KEYVAULT_CA_FILE: z
    .string()
    .optional()
    .describe('extra CA certificate (PEM) trusted for Key Vault (emulators)'),
  AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: z
    .enum(['true', 'false', '1', '0'])
    .transform((v) => v === 'true' || v === '1')
    .optional()
    .describe('accept a challenge resource that does not match the vault host (emulators)'),
  AZURE_KEY_VAULT_HOST_SUFFIXES: z
    .string()
    .optional()
    .transform((v) =>
      (v ?? '')
        .split(',')
        .map((x) => x.trim().toLowerCase())
        .filter((x) => x.length > 0),
    )
    .describe(
      'extra Key Vault host suffixes (comma-separated, e.g. .vault.usgovcloudapi.net; an exact host without a leading dot, for emulators) beside .vault.azure.net and .managedhsm.azure.net',
    ),
  SERVICE_AZURE_PRINCIPAL_ID: z
    .string()
    .refine(isAzureObjectId, 'expected the object id (a GUID) of the service principal')
    .optional()
    .describe('object id of the service principal; customers assign it a crypto role on their key'),
});

/** Parsed Azure settings. */
export type AzureKeyVaultConfig = z.infer<typeof AzureConfigSchema>;

async function create(c: AzureKeyVaultConfig, ctx: ProviderBuildContext) {
  const tlsCa = c.AZURE_KEYVAULT_CA_FILE ? await readFile(c.AZURE_KEYVAULT_CA_FILE, 'utf8') : undefined;
  const credential = azureCredentialFromConfig({
    ...(c.AZURE_TENANT_ID ? { tenantId: c.AZURE_TENANT_ID } : {}),
    ...(c.AZURE_CLIENT_ID ? { clientId: c.AZURE_CLIENT_ID } : {}),
    ...(c.AZURE_CLIENT_SECRET ? { clientSecret: c.AZURE_CLIENT_SECRET } : {}),
    ...(c.AZURE_AUTHORITY_HOST ? { authorityHost: c.AZURE_AUTHORITY_HOST } : {}),
    ...(tlsCa ? { tlsCa } : {}),
  });
  // Every byte to a vault goes through the egress guard: the vault host is the tenant's choice.
  // Without one from the service, a guard with no allowance (fail closed, never the SDK's client).
  // The credential keeps its own client: its token endpoint is the operator's authority host,
  // never a tenant's (a vault's challenge can name another Entra tenant only if allowed), and
  // managed identity must reach the metadata address the guard refuses.
  const httpClient = egressHttpClient(ctx.egress ?? new EgressGuard(), {
    timeoutMs: ctx.timeoutMs,
    ...(tlsCa ? { tlsCa } : {}),
  });
  return createAzureKeyVaultProvider({
    credential,
    httpClient,
    timeoutMs: ctx.timeoutMs,
    ...(tlsCa ? { tlsCa } : {}),
    ...(c.AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION
      ? { disableChallengeResourceVerification: true }
      : {}),
  });
}

/**
 * Azure Key Vault / Managed HSM as a provider module: a service principal when tenant, client
 * id and secret are set, else DefaultAzureCredential; the CA file and authority host point the
 * same build at the emulator.
 */
export const azureKeyVaultModule = {
  name: AZURE_PROVIDER,
  title: 'Azure Key Vault / Managed HSM',
  keyRefFormat:
    'https://VAULT.vault.azure.net/keys/NAME[/VERSION] or https://HSM.managedhsm.azure.net/keys/NAME[/VERSION]',
  parseKeyRef: parseAzureKeyRef,
  // A literal IP or any other host is refused before a connection (no SSRF through a key ref).
  checkKeyRef: (ref: AzureKeyRef, c: AzureKeyVaultConfig | undefined) =>
    refusedVaultHost(ref, c?.AZURE_KEY_VAULT_HOST_SUFFIXES ?? []),
  configSchema: AzureConfigSchema,
  // Sovereign clouds set an https authority host; an extra Key Vault CA or a skipped
  // challenge check only ever serve the emulator, and would let a look-alike vault in.
  developmentSettings: (c: AzureKeyVaultConfig) => [
    ...(c.AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION
      ? [
          {
            variable: 'AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION',
            why: 'skips the vault challenge check',
          },
        ]
      : []),
    ...(c.AZURE_KEYVAULT_CA_FILE
      ? [{ variable: 'AZURE_KEYVAULT_CA_FILE', why: 'trusts an extra CA for Key Vault' }]
      : []),
    ...(c.AZURE_AUTHORITY_HOST?.startsWith('http:')
      ? [{ variable: 'AZURE_AUTHORITY_HOST', why: 'a plain-http Entra authority' }]
      : []),
  ],
  create,
  onboarding: {
    principal: (c: AzureKeyVaultConfig) => c.SERVICE_AZURE_PRINCIPAL_ID,
    principalVariable: 'SERVICE_AZURE_PRINCIPAL_ID',
    grant: azureGrant,
  },
  health: true,
} satisfies KmsProviderModule<AzureKeyRef, AzureKeyVaultConfig>;
