import type { EgressGuard } from '@byok/egress';
import type { z } from 'zod';
import type { KmsProvider } from './provider.js';

/**
 * A parsed customer key reference. Each provider module defines its own shape (an ARN's region
 * and account, a vault URL, a PKCS#11 token label ...) on top of these two fields.
 */
export interface KeyRefBase {
  /** The module's {@link KmsProviderModule.name}. */
  readonly provider: string;
  /** Canonical form of the reference: what is stored, audited and shown. */
  readonly uri: string;
}

/** Settings every provider gets from the service, whatever its own config schema says. */
export interface ProviderBuildContext {
  /** Deadline of one KMS call. */
  timeoutMs: number;
  /** Development mode: modules may relax checks meant for production (never for crypto). */
  production: boolean;
  /** Where development-only providers keep files. */
  dataDir: string;
  /**
   * The guard every connection to a host a tenant chose must pass (a vault URL in a key ref).
   * Modules connecting to such hosts build their HTTP clients on it.
   */
  egress?: EgressGuard;
}

/** A setting a module reports as emulator-only (see {@link KmsProviderModule.developmentSettings}). */
export interface DevelopmentSetting {
  /** The environment variable. */
  variable: string;
  /** Why its value is for emulators only. */
  why: string;
}

/** One customer-side grant: what the customer applies so this service may use its key for a tenant. */
export interface OnboardingGrant {
  /** Machine-readable grant (key policy statements, role assignment, IAM bindings, HSM object attributes). */
  grant: { kind: string } & Record<string, unknown>;
  /** Shell command(s) the customer runs; placeholders in <ANGLE_BRACKETS> where the key was not given. */
  cli: string;
  /** The same grant as Terraform (HCL), with the same placeholders; absent where no Terraform provider manages it (HSMs). */
  terraform?: string;
  /** Sentences the customer should read before applying it. */
  notes: string[];
}

/** Optional capability of a module: write the onboarding grant for a tenant. */
export interface OnboardingCapability<Ref extends KeyRefBase, Config> {
  /**
   * The service's own identity the customer grants use to (role ARN, principal id, service
   * account), read from `config`; undefined when the operator has not set it.
   */
  principal(config: Config): string | undefined;
  /** The environment variable that sets {@link principal}, named in the error when it is missing. */
  readonly principalVariable: string;
  /** The grant for `tenantId`; with `ref` it names that key, without it carries placeholders. */
  grant(tenantId: string, principal: string, ref: Ref | undefined): OnboardingGrant;
}

/**
 * A KMS provider that describes itself: the registry of these modules is the only list of
 * providers in the system. Adding a provider is one package exporting one of these plus one
 * registration line.
 */
export interface KmsProviderModule<Ref extends KeyRefBase = KeyRefBase, Config = unknown> {
  /** Name tenants register keys under (`aws-kms`, `pkcs11`): lower case, digits and dashes. */
  readonly name: string;
  /** Human title for docs (`AWS KMS`). */
  readonly title: string;
  /** The shape of a key reference, for docs and error messages (`arn:aws:kms:REGION:ACCOUNT:key/ID`). */
  readonly keyRefFormat: string;
  /** Refused in production (the local development KMS). */
  readonly developmentOnly?: boolean;
  /** Parses a reference, throwing `InvalidKeyRefError` with a clear reason; the result carries the canonical `uri`. */
  parseKeyRef(input: string): Ref;
  /**
   * Refuses a parsed reference this deployment may not use (e.g. a vault host outside the allowed
   * suffixes), before any connection: returns the reason, or undefined. `config` is undefined when
   * the module's settings were not parsed (provider off).
   */
  checkKeyRef?(ref: Ref, config: Config | undefined): string | undefined;
  /**
   * The environment settings this provider reads, as a zod object whose keys are the variable
   * names (`AWS_REGION`, `PKCS11_PIN_FILE`). The service composes its config from these; each
   * field has a `.describe()`, and no secret has a default.
   */
  readonly configSchema: z.ZodType<Config>;
  /**
   * Settings this module cannot run without that are missing from `config` (variable names). A
   * module missing any is left out of the service's default provider list, and enabling it by
   * name is a configuration problem naming them. Absent: the module always runs (the cloud SDKs
   * find their credentials themselves).
   */
  missingSettings?(config: Config): string[];
  /**
   * Settings in `config` whose values only make sense against an emulator (a plain-http endpoint,
   * a switched-off check), each with why; the service refuses to start in production with any.
   */
  developmentSettings?(config: Config): DevelopmentSetting[];
  /** Builds the provider from its parsed settings. */
  create(config: Config, ctx: ProviderBuildContext): Promise<KmsProvider> | KmsProvider;
  /** How a customer grants this service use of a key; absent for providers that need no grant. */
  readonly onboarding?: OnboardingCapability<Ref, Config>;
  /** True when providers made by {@link create} implement `describe` (key health without using the key). */
  readonly health: boolean;
}
