import { ClientSecretCredential } from '@azure/identity';
import { KeyClient } from '@azure/keyvault-keys';
import { EgressGuard } from '@byok/egress';
import type { KeyRef } from '@byok/kms';
import { startAzureKeyVaultEmulator, type AzureKeyVaultEmulator } from '@byok/kms-emulators/azure';
import {
  createAzureKeyVaultProvider,
  egressHttpClient,
  parseAzureKeyRef,
  type AzureKeyRef,
  type AzureKeyVaultProviderOptions,
} from '../src/index.js';

/** An emulator, an SDK credential for it, the provider under test and the customer's KeyClient. */
export interface AzureTestBed {
  emu: AzureKeyVaultEmulator;
  credential: ClientSecretCredential;
  provider: ReturnType<typeof createAzureKeyVaultProvider>;
  keyClient: KeyClient;
  ref(name: string, version?: string): AzureKeyRef;
  disable(ref: KeyRef): Promise<void>;
  enable(ref: KeyRef): Promise<void>;
  close(): Promise<void>;
}

let seq = 0;
/** A key name unique within this test process. */
export function uniqueName(prefix: string): string {
  seq += 1;
  return `${prefix}-${process.pid}-${seq}`;
}

/**
 * Starts an emulator and builds everything against it with the official SDK over HTTPS. The
 * provider sends through the egress guard as the service's does (loopback explicitly allowed), so
 * every provider test and the conformance suite run the production HTTP path.
 */
export async function startAzureTestBed(
  overrides: Partial<AzureKeyVaultProviderOptions> = {},
  secret?: string,
): Promise<AzureTestBed> {
  const emu = await startAzureKeyVaultEmulator();
  const credential = new ClientSecretCredential(emu.tenantId, emu.clientId, secret ?? emu.clientSecret, {
    authorityHost: emu.url,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: emu.caPem },
  });
  const provider = createAzureKeyVaultProvider({
    credential,
    tlsCa: emu.caPem,
    disableChallengeResourceVerification: true,
    httpClient: egressHttpClient(new EgressGuard({ allowCidrs: ['127.0.0.0/8'] }), { tlsCa: emu.caPem }),
    ...overrides,
  });
  const keyClient = new KeyClient(emu.url, credential, {
    tlsOptions: { ca: emu.caPem },
    disableChallengeResourceVerification: true,
  });
  // The customer's way to revoke: disable the key version in Key Vault.
  const setEnabled = async (ref: KeyRef, enabled: boolean): Promise<void> => {
    const r = ref as AzureKeyRef;
    const version = r.version ?? (await keyClient.getKey(r.name)).properties.version;
    await keyClient.updateKeyProperties(r.name, version ?? '', { enabled });
  };
  return {
    emu,
    credential,
    provider,
    keyClient,
    ref: (name, version) => parseAzureKeyRef(emu.keyId(name, version)),
    disable: (ref) => setEnabled(ref, false),
    enable: (ref) => setEnabled(ref, true),
    close: () => emu.close(),
  };
}
