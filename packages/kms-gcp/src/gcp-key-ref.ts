import { checkKeyRefInput, InvalidKeyRefError, type KeyRefBase } from '@byok/kms';

/** Name Google Cloud KMS keys are registered under, and the provider of every error this adapter raises. */
export const GCP_PROVIDER = 'gcp-kms';

/** Google Cloud KMS CryptoKey (or one explicit CryptoKeyVersion, for decrypt diagnostics). */
export interface GcpKeyRef extends KeyRefBase {
  readonly provider: 'gcp-kms';
  /** `projects/p/locations/l/keyRings/r/cryptoKeys/k` */
  readonly cryptoKeyName: string;
  readonly project: string;
  readonly location: string;
  readonly keyRing: string;
  readonly cryptoKey: string;
  readonly version?: string;
}

const GCP_NAME =
  /^projects\/([a-z][a-z0-9-]{4,28}[a-z0-9]|[A-Za-z0-9.:_-]{1,100})\/locations\/([A-Za-z0-9_-]{1,63})\/keyRings\/([A-Za-z0-9_-]{1,63})\/cryptoKeys\/([A-Za-z0-9_-]{1,63})(?:\/cryptoKeyVersions\/(\d{1,20}))?$/;

/** Parses a CryptoKey resource name (optionally with a version); throws {@link InvalidKeyRefError}. */
export function parseGcpKeyRef(input: string): GcpKeyRef {
  checkKeyRefInput(GCP_PROVIDER, input);
  const m = GCP_NAME.exec(input);
  if (!m) {
    throw new InvalidKeyRefError(
      GCP_PROVIDER,
      input,
      'expected projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY[/cryptoKeyVersions/N]',
    );
  }
  const [, project, location, keyRing, cryptoKey, version] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  return {
    provider: GCP_PROVIDER,
    uri: input,
    cryptoKeyName: `projects/${project}/locations/${location}/keyRings/${keyRing}/cryptoKeys/${cryptoKey}`,
    project,
    location,
    keyRing,
    cryptoKey,
    ...(version !== undefined ? { version } : {}),
  };
}
