import { InvalidKeyRefError, KmsError } from './errors.js';
import { checkKeyRefInput, PROVIDER_NAME_PATTERN } from './key-ref.js';
import type { KmsProvider } from './provider.js';
import type { KeyRefBase, KmsProviderModule, ProviderBuildContext } from './provider-module.js';

/** Any provider module, whatever its reference and config types (the registry holds several). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyKmsProviderModule = KmsProviderModule<any, any>;

/** Each registered module's parsed settings, by module name. */
export type KmsModuleConfigs = Readonly<Record<string, unknown>>;

/**
 * The registered provider modules: the one place that maps a provider name to its code. Every
 * module registered here can parse references and write onboarding grants; only the enabled
 * ones are built into providers.
 */
export class KmsModuleRegistry {
  private readonly byName = new Map<string, AnyKmsProviderModule>();

  constructor(modules: readonly AnyKmsProviderModule[]) {
    for (const m of modules) {
      if (!PROVIDER_NAME_PATTERN.test(m.name)) {
        throw new Error(
          `KMS provider module name ${JSON.stringify(m.name)} must match ${PROVIDER_NAME_PATTERN}`,
        );
      }
      if (this.byName.has(m.name)) throw new Error(`KMS provider module ${m.name} registered twice`);
      this.byName.set(m.name, m);
    }
  }

  /** Names of the registered modules, in registration order. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** True when a module named `name` is registered. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The module named `name`, or undefined. */
  module(name: string): AnyKmsProviderModule | undefined {
    return this.byName.get(name);
  }

  /** The registered modules, in registration order. */
  modules(): AnyKmsProviderModule[] {
    return [...this.byName.values()];
  }

  /**
   * Parses `input` with the module named `provider`; an unknown provider, a malformed reference
   * a module answering for another provider, or a reference the module refuses under its
   * `configs` entry throws {@link InvalidKeyRefError}.
   */
  parseKeyRef(provider: string, input: string, configs?: KmsModuleConfigs): KeyRefBase {
    const m = this.byName.get(provider);
    if (!m) {
      throw new InvalidKeyRefError(
        String(provider).slice(0, 64),
        String(input).slice(0, 64),
        `unknown provider; expected one of ${this.names().join(', ')}`,
        'provider',
      );
    }
    checkKeyRefInput(provider, input);
    const ref = m.parseKeyRef(input);
    if (ref.provider !== m.name) {
      throw new InvalidKeyRefError(provider, input, `module ${m.name} answered a ${ref.provider} reference`);
    }
    const refused = m.checkKeyRef?.(ref, configs?.[m.name]);
    if (refused !== undefined) throw new InvalidKeyRefError(provider, input, refused);
    return ref;
  }

  /**
   * Builds the providers named in `enabled` from their parsed settings, skipping `skip` (providers
   * injected by tests). An unknown name, a missing config or a development-only module in
   * production is a KMS_MISCONFIGURED error.
   */
  async createProviders(
    enabled: readonly string[],
    configs: KmsModuleConfigs,
    ctx: ProviderBuildContext,
    skip: readonly string[] = [],
  ): Promise<KmsProvider[]> {
    const out: KmsProvider[] = [];
    for (const name of enabled) {
      if (skip.includes(name)) continue;
      const m = this.byName.get(name);
      if (!m) {
        throw new KmsError('KMS_MISCONFIGURED', `no KMS provider module named ${name} is registered`, {
          provider: name,
        });
      }
      if (m.developmentOnly && ctx.production) {
        throw new KmsError('KMS_MISCONFIGURED', `${name}: ${m.title} is development-only`, {
          provider: name,
        });
      }
      if (!(name in configs)) {
        throw new KmsError('KMS_MISCONFIGURED', `${name}: its settings were not parsed`, { provider: name });
      }
      const provider = await m.create(configs[name], ctx);
      if (provider.name !== name) {
        throw new KmsError('KMS_MISCONFIGURED', `module ${name} built a provider named ${provider.name}`, {
          provider: name,
        });
      }
      out.push(provider);
    }
    return out;
  }
}
