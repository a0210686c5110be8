import { KmsError } from './errors.js';
import type { KeyRef } from './key-ref.js';
import { KmsModuleRegistry, type KmsModuleConfigs } from './module-registry.js';
import type { KmsProvider } from './provider.js';

/**
 * The enabled providers by name, plus the registered modules that parse references. Callers hold
 * this one object: `parseKeyRef` for stored or submitted references, `forRef` to use them.
 */
export class KmsRegistry {
  private readonly providers = new Map<string, KmsProvider>();

  constructor(
    providers: readonly KmsProvider[] = [],
    /** Every registered module, enabled or not (a stored reference must parse even when its provider is off). */
    readonly modules: KmsModuleRegistry = new KmsModuleRegistry([]),
    /** Each module's parsed settings, for the module's own reference checks (allowed hosts). */
    private readonly moduleConfigs?: KmsModuleConfigs,
  ) {
    for (const p of providers) this.register(p);
  }

  /** Adds a provider; a second provider of the same name is a configuration bug. */
  register(provider: KmsProvider): this {
    if (this.providers.has(provider.name)) throw new Error(`KMS provider ${provider.name} registered twice`);
    this.providers.set(provider.name, provider);
    return this;
  }

  /** True when a provider for `name` is configured. */
  has(name: string): boolean {
    return this.providers.has(name);
  }

  /** Names of the configured providers. */
  names(): string[] {
    return [...this.providers.keys()];
  }

  /** Parses a key reference with its registered module (see {@link KmsModuleRegistry.parseKeyRef}). */
  parseKeyRef(provider: string, input: string): KeyRef {
    return this.modules.parseKeyRef(provider, input, this.moduleConfigs);
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
