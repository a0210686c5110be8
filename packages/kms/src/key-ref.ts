import { InvalidKeyRefError } from './errors.js';

/** Provider names as tenants register them. */
export const PROVIDER_NAMES = ['aws-kms', 'azure-kv', 'gcp-kms', 'local'] as const;
/** One of {@link PROVIDER_NAMES}. */
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** AWS KMS key or alias ARN. Multi-Region keys have ids starting with `mrk-`. */
export interface AwsKeyRef {
  provider: 'aws-kms';
  uri: string;
  kind: 'key' | 'alias';
  partition: string;
  region: string;
  account: string;
  /** Key id (`1234abcd-...` or `mrk-...`) or alias name (`alias/...`). */
  resource: string;
  multiRegion: boolean;
}

/** Azure Key Vault or Managed HSM key id, with or without a version. */
export interface AzureKeyRef {
  provider: 'azure-kv';
  uri: string;
  kind: 'vault' | 'managed-hsm';
  /** `https://host[:port]` */
  vaultUrl: string;
  name: string;
  version?: string;
}

/** Google Cloud KMS CryptoKey (or one explicit CryptoKeyVersion, for decrypt diagnostics). */
export interface GcpKeyRef {
  provider: 'gcp-kms';
  uri: string;
  /** `projects/p/locations/l/keyRings/r/cryptoKeys/k` */
  cryptoKeyName: string;
  project: string;
  location: string;
  keyRing: string;
  cryptoKey: string;
  version?: string;
}

/** Development-only key held by the local provider: `local:{name}`. */
export interface LocalKeyRef {
  provider: 'local';
  uri: string;
  name: string;
}

/** A customer key reference, parsed once at the edge. */
export type KeyRef = AwsKeyRef | AzureKeyRef | GcpKeyRef | LocalKeyRef;

const AWS_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):kms:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):(key\/(?:mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})|alias\/[A-Za-z0-9/_-]{1,250})$/;
const GCP_NAME =
  /^projects\/([a-z][a-z0-9-]{4,28}[a-z0-9]|[A-Za-z0-9.:_-]{1,100})\/locations\/([A-Za-z0-9_-]{1,63})\/keyRings\/([A-Za-z0-9_-]{1,63})\/cryptoKeys\/([A-Za-z0-9_-]{1,63})(?:\/cryptoKeyVersions\/(\d{1,20}))?$/;
const AZURE_NAME = /^[0-9A-Za-z-]{1,127}$/;
const AZURE_VERSION = /^[0-9A-Za-z]{1,64}$/;
const LOCAL_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function parseAws(input: string): AwsKeyRef {
  const m = AWS_ARN.exec(input);
  if (!m) {
    throw new InvalidKeyRefError(
      'aws-kms',
      input,
      'expected a key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY_ID) or alias ARN (arn:aws:kms:REGION:ACCOUNT:alias/NAME)',
    );
  }
  const [, partition, region, account, resource] = m as unknown as [string, string, string, string, string];
  const kind = resource.startsWith('alias/') ? 'alias' : 'key';
  if (resource === 'alias/aws' || resource.startsWith('alias/aws/')) {
    throw new InvalidKeyRefError(
      'aws-kms',
      input,
      'AWS managed keys (alias/aws/*) are not customer managed keys',
    );
  }
  return {
    provider: 'aws-kms',
    uri: input,
    kind,
    partition,
    region,
    account,
    resource,
    multiRegion: resource.startsWith('key/mrk-'),
  };
}

function parseAzure(input: string): AzureKeyRef {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InvalidKeyRefError(
      'azure-kv',
      input,
      'expected a key id URL: https://VAULT.vault.azure.net/keys/NAME[/VERSION]',
    );
  }
  if (url.protocol !== 'https:') throw new InvalidKeyRefError('azure-kv', input, 'key id must use https');
  if (url.search || url.hash || url.username || url.password) {
    throw new InvalidKeyRefError('azure-kv', input, 'key id must not carry a query, fragment or credentials');
  }
  const parts = url.pathname.split('/').filter((p) => p.length > 0);
  if (parts[0] !== 'keys' || parts.length < 2 || parts.length > 3) {
    throw new InvalidKeyRefError('azure-kv', input, 'expected path /keys/NAME or /keys/NAME/VERSION');
  }
  const name = parts[1] ?? '';
  const version = parts[2];
  if (!AZURE_NAME.test(name))
    throw new InvalidKeyRefError('azure-kv', input, 'key name must be 1-127 letters, digits or dashes');
  if (version !== undefined && !AZURE_VERSION.test(version)) {
    throw new InvalidKeyRefError('azure-kv', input, 'key version must be letters and digits');
  }
  const kind = url.hostname.endsWith('.managedhsm.azure.net') ? 'managed-hsm' : 'vault';
  const vaultUrl = `${url.protocol}//${url.host}`;
  const ref: AzureKeyRef = {
    provider: 'azure-kv',
    uri: `${vaultUrl}/keys/${name}${version ? `/${version}` : ''}`,
    kind,
    vaultUrl,
    name,
  };
  if (version !== undefined) ref.version = version;
  return ref;
}

function parseGcp(input: string): GcpKeyRef {
  const m = GCP_NAME.exec(input);
  if (!m) {
    throw new InvalidKeyRefError(
      'gcp-kms',
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
  const cryptoKeyName = `projects/${project}/locations/${location}/keyRings/${keyRing}/cryptoKeys/${cryptoKey}`;
  const ref: GcpKeyRef = {
    provider: 'gcp-kms',
    uri: input,
    cryptoKeyName,
    project,
    location,
    keyRing,
    cryptoKey,
  };
  if (version !== undefined) ref.version = version;
  return ref;
}

function parseLocal(input: string): LocalKeyRef {
  const name = input.startsWith('local:') ? input.slice('local:'.length) : '';
  if (!LOCAL_NAME.test(name)) {
    throw new InvalidKeyRefError(
      'local',
      input,
      'expected local:NAME with NAME of 1-64 letters, digits, dots, dashes or underscores',
    );
  }
  return { provider: 'local', uri: `local:${name}`, name };
}

/** Parses a key reference for `provider`, throwing {@link InvalidKeyRefError} with a clear reason. */
export function parseKeyRef(provider: ProviderName, input: string): KeyRef {
  if (typeof input !== 'string' || input.length === 0 || input.length > 2048 || input.trim() !== input) {
    throw new InvalidKeyRefError(
      provider,
      String(input).slice(0, 64),
      'must be a non-empty string without surrounding spaces',
    );
  }
  switch (provider) {
    case 'aws-kms':
      return parseAws(input);
    case 'azure-kv':
      return parseAzure(input);
    case 'gcp-kms':
      return parseGcp(input);
    case 'local':
      return parseLocal(input);
    default:
      throw new InvalidKeyRefError(
        String(provider),
        input,
        `unknown provider; expected one of ${PROVIDER_NAMES.join(', ')}`,
      );
  }
}

/** True when `name` is one of {@link PROVIDER_NAMES}. */
export function isProviderName(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name);
}
