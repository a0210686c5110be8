import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ClientSecretCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import {
  startAwsKmsEmulator,
  startAzureKeyVaultEmulator,
  startGcpKmsEmulator,
  type AwsKmsEmulator,
  type AzureKeyVaultEmulator,
  type GcpKmsEmulator,
} from '@byok/kms-emulators';
import { OAuth2Client } from 'google-auth-library';
import { ROOT, startTsxProcess } from './service-process.js';

/** Where an AWS KMS emulator answers and the access keys it accepts. */
export type AwsKmsEndpoint = Pick<AwsKmsEmulator, 'endpoint' | 'region' | 'credentials'>;

/** The service settings that point it at one AWS KMS emulator (and nothing else). */
export function awsKmsServiceEnv(emu: AwsKmsEndpoint): Record<string, string> {
  const cred = emu.credentials[0];
  if (!cred) throw new Error('the AWS KMS emulator has no credentials');
  return {
    KMS_PROVIDERS: 'aws-kms',
    AWS_REGION: emu.region,
    AWS_ENDPOINT_URL_KMS: emu.endpoint,
    AWS_ACCESS_KEY_ID: cred.accessKeyId,
    AWS_SECRET_ACCESS_KEY: cred.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** An AWS KMS emulator in a process of its own, driven over its `/__emulator/` HTTP controls. */
export interface AwsKmsEmulatorProcess extends AwsKmsEndpoint {
  /** The key the emulator command creates at start (alias `dev`). */
  keyArn: string;
  admin: {
    /** KMS requests received (all operations, or one), including refused ones. */
    callCount(op?: string): Promise<number>;
    /** While on, KMS requests are accepted and never answered; turning it off drops them. */
    setHang(hang: boolean): Promise<void>;
  };
  /** SIGTERM, and resolves once it exited. */
  stop(): Promise<unknown>;
}

/**
 * Starts the AWS KMS emulator command (`packages/kms-emulators/src/cli.ts`) in its own process on a
 * free port. Its event loop is its own: however busy the test process is, it answers in time.
 */
export async function startAwsKmsEmulatorProcess(): Promise<AwsKmsEmulatorProcess> {
  const proc = await startTsxProcess(join(ROOT, 'packages/kms-emulators/src/cli.ts'), {
    args: ['--aws-port', '0', '--azure-port', 'off', '--gcp-port', 'off', '--json'],
    env: {},
    // With --json the command prints one line, {"aws": {...}}, once it listens.
    ready: /^(\{.*\})\n/m,
  });
  const info = (JSON.parse(proc.ready[1] ?? '{}') as { aws?: Record<string, string | undefined> }).aws;
  const { endpoint, region, accessKeyId, secretAccessKey, devKeyArn } = info ?? {};
  if (!endpoint || !region || !accessKeyId || !secretAccessKey || !devKeyArn) {
    await proc.stop();
    throw new Error(`the AWS KMS emulator printed no endpoint, credentials or key:\n${proc.output()}`);
  }
  const control = async (name: string, body: Record<string, unknown>): Promise<unknown> => {
    const res = await fetch(`${endpoint}/__emulator/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator control ${name}: ${res.status} ${text}`);
    return JSON.parse(text);
  };
  return {
    endpoint,
    region,
    credentials: [{ accessKeyId, secretAccessKey }],
    keyArn: devKeyArn,
    admin: {
      callCount: async (op) =>
        ((await control('callCount', op === undefined ? {} : { op })) as { count: number }).count,
      setHang: async (hang) => void (await control('setHang', { hang })),
    },
    stop: () => proc.stop(),
  };
}

/**
 * The customer's side of one cloud: creates a key through the provider's official SDK and turns it
 * off and on again through the provider's own admin API (never through the key service).
 */
export interface CustomerKms {
  provider: 'aws-kms' | 'azure-kv' | 'gcp-kms';
  /** Creates a fresh key and returns the reference a tenant admin would register. */
  createKey(label: string): Promise<string>;
  /** Disables the key (AWS DisableKey, Azure enabled:false, GCP version DISABLED). */
  revoke(keyRef: string): Promise<void>;
  /** Enables it again. */
  restore(keyRef: string): Promise<void>;
  /** A well-formed reference to a key that does not exist on this emulator. */
  missingKeyRef(): string;
  /** A reference the provider's parser must reject. */
  malformedKeyRef: string;
  /** KMS API calls the emulator has received so far. */
  calls(): number;
}

/** The three emulators, the customer SDK clients against them, and the env the service needs. */
export interface CloudEmulators {
  aws: AwsKmsEmulator;
  azure: AzureKeyVaultEmulator;
  gcp: GcpKmsEmulator;
  customers: CustomerKms[];
  /** Environment that points a service process at all three emulators (no metadata, no real cloud). */
  serviceEnv: Record<string, string>;
  close(): Promise<void>;
}

/** Starts the AWS, Azure and GCP emulators in this process; the Azure CA PEM goes to `dir/azure-ca.pem`. */
export async function startCloudEmulators(dir: string): Promise<CloudEmulators> {
  const aws = await startAwsKmsEmulator({ port: 0 });
  const azure = await startAzureKeyVaultEmulator();
  const gcp = await startGcpKmsEmulator();
  const caFile = join(dir, 'azure-ca.pem');
  await writeFile(caFile, azure.caPem, { mode: 0o600 });

  const [awsCred] = aws.credentials;
  if (!awsCred) throw new RangeError('the AWS emulator has no credentials');
  const awsAdmin = new KMSClient({
    region: aws.region,
    endpoint: aws.endpoint,
    credentials: awsCred,
    maxAttempts: 1,
  });
  const azureCredential = new ClientSecretCredential(azure.tenantId, azure.clientId, azure.clientSecret, {
    authorityHost: azure.url,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: azure.caPem },
  });
  const keyClient = new KeyClient(azure.url, azureCredential, {
    tlsOptions: { ca: azure.caPem },
    disableChallengeResourceVerification: true,
  });
  const gcpAuth = new OAuth2Client();
  gcpAuth.setCredentials({ access_token: gcp.accessToken, expiry_date: Date.now() + 3600_000 });
  const gcpAdmin = new KeyManagementServiceClient({
    fallback: true,
    apiEndpoint: gcp.host,
    port: gcp.port,
    protocol: 'http',
    authClient: gcpAuth,
  });

  const azureName = (keyRef: string) => new URL(keyRef).pathname.split('/')[2] ?? '';
  const azureSetEnabled = async (keyRef: string, enabled: boolean) => {
    const name = azureName(keyRef);
    const version = (await keyClient.getKey(name)).properties.version ?? '';
    await keyClient.updateKeyProperties(name, version, { enabled });
  };
  const gcpSetState = async (keyRef: string, state: 'ENABLED' | 'DISABLED') => {
    await gcpAdmin.updateCryptoKeyVersion({
      cryptoKeyVersion: { name: `${keyRef}/cryptoKeyVersions/1`, state },
      updateMask: { paths: ['state'] },
    });
  };
  const gcpParent = 'projects/byok-e2e/locations/global';

  const customers: CustomerKms[] = [
    {
      provider: 'aws-kms',
      async createKey(label) {
        const out = await awsAdmin.send(new CreateKeyCommand({ Description: `byok e2e ${label}` }));
        return out.KeyMetadata?.Arn ?? '';
      },
      revoke: async (keyRef) => void (await awsAdmin.send(new DisableKeyCommand({ KeyId: keyRef }))),
      restore: async (keyRef) => void (await awsAdmin.send(new EnableKeyCommand({ KeyId: keyRef }))),
      missingKeyRef: () => `arn:aws:kms:${aws.region}:${aws.accountId}:key/${randomUUID()}`,
      malformedKeyRef: 'arn:aws:kms:us-east-1:1234:key/not-a-key-id',
      calls: () => aws.admin.callCount(),
    },
    {
      provider: 'azure-kv',
      async createKey(label) {
        const key = await keyClient.createRsaKey(`${label}-${randomUUID().slice(0, 8)}`, { keySize: 2048 });
        return key.id ?? '';
      },
      revoke: (keyRef) => azureSetEnabled(keyRef, false),
      restore: (keyRef) => azureSetEnabled(keyRef, true),
      missingKeyRef: () => `${azure.url}/keys/missing-${randomUUID().slice(0, 8)}`,
      malformedKeyRef: 'http://vault.example/keys/x',
      calls: () => azure.callCount(),
    },
    {
      provider: 'gcp-kms',
      async createKey(label) {
        const keyRingId = `ring-${randomUUID().slice(0, 12)}`;
        await gcpAdmin.createKeyRing({ parent: gcpParent, keyRingId, keyRing: {} });
        const [key] = await gcpAdmin.createCryptoKey({
          parent: `${gcpParent}/keyRings/${keyRingId}`,
          cryptoKeyId: label,
          cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
        });
        return String(key.name);
      },
      revoke: (keyRef) => gcpSetState(keyRef, 'DISABLED'),
      restore: (keyRef) => gcpSetState(keyRef, 'ENABLED'),
      missingKeyRef: () => `${gcpParent}/keyRings/missing-${randomUUID().slice(0, 8)}/cryptoKeys/none`,
      malformedKeyRef: 'projects/p/keyRings/r/cryptoKeys/k',
      calls: () => gcp.callCount(),
    },
  ];

  return {
    aws,
    azure,
    gcp,
    customers,
    serviceEnv: {
      KMS_PROVIDERS: 'local,aws-kms,azure-kv,gcp-kms',
      AWS_REGION: aws.region,
      AWS_ENDPOINT_URL_KMS: aws.endpoint,
      AWS_ACCESS_KEY_ID: awsCred.accessKeyId,
      AWS_SECRET_ACCESS_KEY: awsCred.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AZURE_TENANT_ID: azure.tenantId,
      AZURE_CLIENT_ID: azure.clientId,
      AZURE_CLIENT_SECRET: azure.clientSecret,
      AZURE_AUTHORITY_HOST: azure.url,
      AZURE_KEYVAULT_CA_FILE: caFile,
      AZURE_DISABLE_CHALLENGE_RESOURCE_VERIFICATION: 'true',
      // The emulator's loopback host; production allows only the Key Vault suffixes.
      AZURE_KEY_VAULT_HOST_SUFFIXES: new URL(azure.url).hostname,
      // Key Vault traffic goes through the egress guard, which refuses loopback unless allowed.
      EGRESS_ALLOW_CIDRS: '127.0.0.0/8',
      GCP_KMS_ENDPOINT: `${gcp.host}:${gcp.port}`,
      GCP_KMS_PROTOCOL: 'http',
      GCP_ACCESS_TOKEN: gcp.accessToken,
      METADATA_SERVER_DETECTION: 'none',
    },
    async close() {
      awsAdmin.destroy();
      await gcpAdmin.close();
      await Promise.all([aws.close(), azure.close(), gcp.close()]);
    },
  };
}
