import type { TokenCredential } from '@azure/core-auth';
import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';

/** Service-principal settings, as the key service's config hands them over. */
export interface AzureCredentialConfig {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Entra ID authority, e.g. `https://login.microsoftonline.com` (sovereign clouds differ). */
  authorityHost?: string;
  /** Extra CA (PEM) for the authority's TLS, for emulators. */
  tlsCa?: string;
}

/**
 * A ClientSecretCredential when tenant, client id and secret are all given; otherwise
 * DefaultAzureCredential (managed identity, workload identity, ...). Tests always give all three.
 */
export function azureCredentialFromConfig(config: AzureCredentialConfig = {}): TokenCredential {
  const { tenantId, clientId, clientSecret, authorityHost, tlsCa } = config;
  const common = {
    ...(authorityHost ? { authorityHost } : {}),
    ...(tlsCa ? { tlsOptions: { ca: tlsCa } } : {}),
  };
  if (tenantId && clientId && clientSecret) {
    return new ClientSecretCredential(tenantId, clientId, clientSecret, {
      ...common,
      // A custom authority host (emulator, sovereign cloud) has no instance-discovery endpoint.
      ...(authorityHost ? { disableInstanceDiscovery: true } : {}),
    });
  }
  return new DefaultAzureCredential(common);
}
