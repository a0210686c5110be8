import type { KmsProviderModule, ProviderBuildContext } from '@byok/kms';
import { OAuth2Client } from 'google-auth-library';
import { z } from 'zod';
import { GCP_PROVIDER, parseGcpKeyRef, type GcpKeyRef } from './gcp-key-ref.js';
import { createGcpKmsProvider } from './gcp-kms-provider.js';
import { gcpGrant, isGcpServiceAccount } from './gcp-onboarding.js';

/** Google settings: emulator overrides (else Application Default Credentials) and our service account. */
const GcpConfigSchema = z.object({
  GCP_KMS_ENDPOINT: z
    .string()
    .optional()
    .describe('host[:port] override of cloudkms.googleapis.com (emulators)'),
  GCP_KMS_PROTOCOL: z.enum(['http', 'https']).optional().describe('protocol for GCP_KMS_ENDPOINT'),
  GCP_ACCESS_TOKEN: z
    .string()
    .optional()
    .describe('static OAuth access token (emulators); else Application Default Credentials'),
  SERVICE_GCP_SERVICE_ACCOUNT: z
    .string()
    .refine(isGcpServiceAccount, 'expected a service account email')
    .optional()
    .describe('service account the service runs as; customers bind it on their CryptoKey'),
});

/** Parsed Google Cloud KMS settings. */
export type GcpKmsConfig = z.infer<typeof GcpConfigSchema>;

function create(c: GcpKmsConfig, ctx: ProviderBuildContext) {
  let authClient: OAuth2Client | undefined;
  if (c.GCP_ACCESS_TOKEN) {
    authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: c.GCP_ACCESS_TOKEN });
  }
  const [host, port] = (c.GCP_KMS_ENDPOINT ?? '').split(':');
  return createGcpKmsProvider({
    timeoutMs: ctx.timeoutMs,
    ...(host ? { apiEndpoint: host } : {}),
    ...(port ? { port: Number(port) } : {}),
    ...(c.GCP_KMS_PROTOCOL ? { protocol: c.GCP_KMS_PROTOCOL } : {}),
    ...(authClient ? { authClient } : {}),
  });
}

/**
 * Google Cloud KMS as a provider module: Application Default Credentials unless a static token
 * is given (emulators), REST transport, an endpoint override for the emulator.
 */
export const gcpKmsModule = {
  name: GCP_PROVIDER,
  title: 'Google Cloud KMS',
  keyRefFormat: 'projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY',
  parseKeyRef: parseGcpKeyRef,
  configSchema: GcpConfigSchema,
  // A private endpoint over https is legitimate; plain http and a static token are the emulator's.
  developmentSettings: (c: GcpKmsConfig) => [
    ...(c.GCP_KMS_PROTOCOL === 'http'
      ? [{ variable: 'GCP_KMS_PROTOCOL', why: 'plain http to the KMS' }]
      : []),
    ...(c.GCP_ACCESS_TOKEN
      ? [
          {
            variable: 'GCP_ACCESS_TOKEN',
            why: 'a static access token instead of Application Default Credentials',
          },
        ]
      : []),
  ],
  create,
  onboarding: {
    principal: (c: GcpKmsConfig) => c.SERVICE_GCP_SERVICE_ACCOUNT,
    principalVariable: 'SERVICE_GCP_SERVICE_ACCOUNT',
    grant: gcpGrant,
  },
  health: true,
} satisfies KmsProviderModule<GcpKeyRef, GcpKmsConfig>;
