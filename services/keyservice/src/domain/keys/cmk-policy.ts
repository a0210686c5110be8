import type { KmsModuleConfigs, KmsModuleRegistry, OnboardingGrant } from '@byok/kms';
import { AppError } from '../../errors.js';

/** What `GET /v1/tenants/{t}/cmk/policy` answers. */
export interface CmkPolicyGuide {
  provider: string;
  tenantId: string;
  keyRef: string | null;
  principal: string;
  /** Machine-readable grant; its `kind` names the provider's shape (`aws-key-policy`, ...). */
  grant: OnboardingGrant['grant'];
  /** Shell command(s) the customer runs; placeholders in <ANGLE_BRACKETS> where the key was not given. */
  cli: string;
  /** The same grant as Terraform (HCL), where a Terraform provider manages it. */
  terraform?: string;
  notes: string[];
}

/**
 * Refuses a provider name no registered module carries, as a validation failure naming the
 * registered ones: the wire accepts any well-formed name, the registry decides which exist.
 */
export function requireKnownProvider(modules: KmsModuleRegistry, provider: string): void {
  if (!modules.has(provider)) {
    throw new AppError(
      'VALIDATION_FAILED',
      `unknown provider ${provider}; expected one of ${modules.names().join(', ')}`,
    );
  }
}

/**
 * The exact grant a customer applies so the service may use its key for `tenantId`, written by
 * the provider's own module from its settings in `configs`. With `keyRef` the grant names that
 * key; without it it carries <PLACEHOLDERS>.
 */
export function cmkPolicyGuide(
  modules: KmsModuleRegistry,
  configs: KmsModuleConfigs,
  provider: string,
  tenantId: string,
  keyRef?: string,
): CmkPolicyGuide {
  requireKnownProvider(modules, provider);
  const onboarding = modules.module(provider)?.onboarding;
  if (!onboarding) {
    throw new AppError('VALIDATION_FAILED', `provider ${provider} needs no customer-side grant`);
  }
  const config = configs[provider];
  const principal = config === undefined ? undefined : onboarding.principal(config);
  if (!principal) {
    throw new AppError(
      'KMS_MISCONFIGURED',
      `the operator has not set ${onboarding.principalVariable}, so the grant for ${provider} cannot be written`,
    );
  }
  const ref = keyRef === undefined ? undefined : modules.parseKeyRef(provider, keyRef);
  const built = onboarding.grant(tenantId, principal, ref);
  return { provider, tenantId, keyRef: ref?.uri ?? null, principal, ...built };
}
