import { randomUUID } from 'node:crypto';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import { startGcpKmsEmulator, type GcpKmsEmulator } from '@byok/kms-emulators';
import {
  createGcpKmsProvider,
  parseGcpKeyRef,
  type GcpKeyRef,
  type GcpKmsProvider,
  type GcpKmsProviderOptions,
} from '../src/index.js';

/** Everything a GCP adapter test needs: the emulator, the adapter, and the customer's own SDK client. */
export interface GcpHarness {
  emulator: GcpKmsEmulator;
  provider: GcpKmsProvider;
  /** The customer's admin client: the unmodified SDK, used the way a customer would. */
  admin: KeyManagementServiceClient;
  /** Creates a fresh key ring + ENCRYPT_DECRYPT key through the SDK and returns its reference. */
  newKey(label?: string): Promise<GcpKeyRef>;
  /** Sets the state of a key's version (default: 1) through the SDK's updateCryptoKeyVersion. */
  setState(ref: GcpKeyRef, state: 'ENABLED' | 'DISABLED', version?: number): Promise<void>;
  /** A provider with other options against the same emulator (closed by close()). */
  providerWith(extra: Partial<GcpKmsProviderOptions>): GcpKmsProvider;
  close(): Promise<void>;
}

/** Auth client with a fixed access token: never reaches a metadata server or a token endpoint. */
export function tokenAuth(token: string): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: token, expiry_date: Date.now() + 3600_000 });
  return auth;
}

/** Starts an emulator and the adapter against it, REST transport, explicit token, no ADC. */
export async function startGcpHarness(): Promise<GcpHarness> {
  const emulator = await startGcpKmsEmulator();
  const connection = {
    fallback: true,
    apiEndpoint: '127.0.0.1',
    port: emulator.port,
    protocol: 'http' as const,
    authClient: tokenAuth(emulator.accessToken),
  };
  const admin = new KeyManagementServiceClient(connection);
  const extras: GcpKmsProvider[] = [];
  const provider = createGcpKmsProvider(connection);
  return {
    emulator,
    provider,
    admin,
    async newKey(label = 'key') {
      const parent = 'projects/byok-test/locations/global';
      const keyRingId = `ring-${randomUUID().slice(0, 12)}`;
      await admin.createKeyRing({ parent, keyRingId, keyRing: {} });
      const [key] = await admin.createCryptoKey({
        parent: `${parent}/keyRings/${keyRingId}`,
        cryptoKeyId: label,
        cryptoKey: { purpose: 'ENCRYPT_DECRYPT' },
      });
      return parseGcpKeyRef(String(key.name));
    },
    async setState(ref, state, version = 1) {
      await admin.updateCryptoKeyVersion({
        cryptoKeyVersion: { name: `${ref.cryptoKeyName}/cryptoKeyVersions/${version}`, state },
        updateMask: { paths: ['state'] },
      });
    },
    providerWith(extra) {
      const p = createGcpKmsProvider({ ...connection, ...extra });
      extras.push(p);
      return p;
    },
    async close() {
      await Promise.all([provider.close(), admin.close(), ...extras.map((p) => p.close())]);
      await emulator.close();
    },
  };
}
