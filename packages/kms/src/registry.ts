import { KmsError } from './errors.js';
import type { KeyRef, ProviderName } from './key-ref.js';
import type { KmsProvider } from './provider.js';

/** Picks the provider for a key reference; the one place that dispatches on provider name. */
export class KmsRegistry {
  private readonly providers = new Map<ProviderName, KmsProvider>();

  constructor(providers: readonly KmsProvider[] = []) {
    for (const p of providers) this.register(p);
  }

  /** Adds a provider; a second provider of the same name is a configuration bug. */
  register(provider: KmsProvider): this {
    if (this.providers.has(provider.name)) throw new Error(`KMS provider ${provider.name} registered twice`);
    this.providers.set(provider.name, provider);
    return this;
  }

  /** True when a provider for `name` is configured. */
  has(name: ProviderName): boolean {
    return this.providers.has(name);
  }

  /** Names of the configured providers. */
  names(): ProviderName[] {
    return [...this.providers.keys()];
  }

  /** The provider for `ref`, or a KMS_MISCONFIGURED error naming the missing provider. */
  forRef(ref: KeyRef): KmsProvider {
    const p = this.providers.get(ref.provider);
    if (!p) {
      throw new KmsError('KMS_MISCONFIGURED', `no ${ref.provider} provider is configured on this service`, {
        provider: ref.provider,
        keyRef: ref.uri,
      });
    }
    return p;
  }
}
