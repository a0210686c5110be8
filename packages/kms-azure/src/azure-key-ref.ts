import { checkKeyRefInput, InvalidKeyRefError, type KeyRefBase } from '@byok/kms';

/** Name Azure Key Vault and Managed HSM keys are registered under. */
export const AZURE_PROVIDER = 'azure-kv';

/** Azure Key Vault or Managed HSM key id, with or without a version. */
export interface AzureKeyRef extends KeyRefBase {
  readonly provider: 'azure-kv';
  readonly kind: 'vault' | 'managed-hsm';
  /** `https://host[:port]` */
  readonly vaultUrl: string;
  readonly name: string;
  readonly version?: string;
}

const AZURE_NAME = /^[0-9A-Za-z-]{1,127}$/;
const AZURE_VERSION = /^[0-9A-Za-z]{1,64}$/;

/** Parses a key id URL (`https://VAULT.vault.azure.net/keys/NAME[/VERSION]`); throws {@link InvalidKeyRefError}. */
export function parseAzureKeyRef(input: string): AzureKeyRef {
  checkKeyRefInput(AZURE_PROVIDER, input);
  const invalid = (reason: string) => new InvalidKeyRefError(AZURE_PROVIDER, input, reason);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw invalid('expected a key id URL: https://VAULT.vault.azure.net/keys/NAME[/VERSION]');
  }
  if (url.protocol !== 'https:') throw invalid('key id must use https');
  if (url.search || url.hash || url.username || url.password) {
    throw invalid('key id must not carry a query, fragment or credentials');
  }
  const parts = url.pathname.split('/').filter((p) => p.length > 0);
  if (parts[0] !== 'keys' || parts.length < 2 || parts.length > 3) {
    throw invalid('expected path /keys/NAME or /keys/NAME/VERSION');
  }
  const name = parts[1] ?? '';
  const version = parts[2];
  if (!AZURE_NAME.test(name)) throw invalid('key name must be 1-127 letters, digits or dashes');
  if (version !== undefined && !AZURE_VERSION.test(version))
    throw invalid('key version must be letters and digits');
  const vaultUrl = `${url.protocol}//${url.host}`;
  return {
    provider: AZURE_PROVIDER,
    uri: `${vaultUrl}/keys/${name}${version ? `/${version}` : ''}`,
    kind: url.hostname.endsWith('.managedhsm.azure.net') ? 'managed-hsm' : 'vault',
    vaultUrl,
    name,
    ...(version !== undefined ? { version } : {}),
  };
}

/** Host suffixes of Azure Key Vault and Managed HSM in the public cloud. */
export const AZURE_KEY_VAULT_DEFAULT_SUFFIXES = ['.vault.azure.net', '.managedhsm.azure.net'] as const;

/**
 * Why `ref`'s vault host may not be used, or undefined: the host must end in one of the default
 * suffixes or an operator-configured one (sovereign clouds, emulators); a literal IP never passes
 * unless a suffix names it exactly.
 */
export function refusedVaultHost(
  ref: AzureKeyRef,
  extraSuffixes: readonly string[] = [],
): string | undefined {
  const host = new URL(ref.vaultUrl).hostname.toLowerCase();
  const suffixes = [...AZURE_KEY_VAULT_DEFAULT_SUFFIXES, ...extraSuffixes.map((s) => s.toLowerCase())];
  const ok = suffixes.some((s) =>
    s.startsWith('.') ? host.endsWith(s) && host.length > s.length : host === s,
  );
  return ok ? undefined : `vault host ${host} is not a Key Vault host (${suffixes.join(', ')})`;
}
