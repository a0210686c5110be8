import { readFile } from 'node:fs/promises';
import type { KmsProvider, ProviderName } from '@byok/kms';
import { createAwsKmsProvider } from '@byok/kms-aws';
import { azureCredentialFromConfig, createAzureKeyVaultProvider } from '@byok/kms-azure';
import { createGcpKmsProvider } from '@byok/kms-gcp';
import { OAuth2Client } from 'google-auth-library';
import type { Config } from './config.js';

/**
 * Builds the cloud KMS adapters the config enables. With no overrides they use each SDK's
 * production credential chain (AWS default provider chain, Azure DefaultAzureCredential or a
 * service principal, Google Application Default Credentials); the overrides point the same build
 * at emulators. Providers already registered (e.g. injected by tests) are skipped.
 */
export async function cloudProviders(config: Config, already: ProviderName[]): Promise<KmsProvider[]> {
  const want = (p: ProviderName) => config.kms.providers.includes(p) && !already.includes(p);
  const out: KmsProvider[] = [];
  const timeoutMs = config.kms.timeoutMs;
  if (want('aws-kms')) {
    const { region, endpoint } = config.kms.aws;
    out.push(createAwsKmsProvider({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) }));
  }
  if (want('azure-kv')) {
    const a = config.kms.azure;
    const tlsCa = a.caFile ? await readFile(a.caFile, 'utf8') : undefined;
    const credential = azureCredentialFromConfig({
      ...(a.tenantId ? { tenantId: a.tenantId } : {}),
      ...(a.clientId ? { clientId: a.clientId } : {}),
      ...(a.clientSecret ? { clientSecret: a.clientSecret } : {}),
      ...(a.authorityHost ? { authorityHost: a.authorityHost } : {}),
      ...(tlsCa ? { tlsCa } : {}),
    });
    out.push(
      createAzureKeyVaultProvider({
        credential,
        timeoutMs,
        ...(tlsCa ? { tlsCa } : {}),
        ...(a.disableChallengeResourceVerification ? { disableChallengeResourceVerification: true } : {}),
      }),
    );
  }
  if (want('gcp-kms')) {
    const g = config.kms.gcp;
    let authClient: OAuth2Client | undefined;
    if (g.accessToken) {
      authClient = new OAuth2Client();
      authClient.setCredentials({ access_token: g.accessToken });
    }
    const [host, port] = (g.endpoint ?? '').split(':');
    out.push(
      createGcpKmsProvider({
        timeoutMs,
        ...(host ? { apiEndpoint: host } : {}),
        ...(port ? { port: Number(port) } : {}),
        ...(g.protocol ? { protocol: g.protocol } : {}),
        ...(authClient ? { authClient } : {}),
      }),
    );
  }
  return out;
}
