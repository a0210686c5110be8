import { KmsModuleRegistry, localKmsModule } from '@byok/kms';
import { awsKmsModule } from '@byok/kms-aws';
import { azureKeyVaultModule } from '@byok/kms-azure';
import { gcpKmsModule } from '@byok/kms-gcp';
import { pkcs11Module } from '@byok/kms-pkcs11';

/**
 * Every KMS provider this service knows, in the order `KMS_PROVIDERS` defaults to. Adding a
 * provider is one package exporting its module plus one entry here: config, key references,
 * onboarding grants, the contract and the database all take provider names from this list.
 */
export const KMS_MODULES = [
  localKmsModule,
  awsKmsModule,
  azureKeyVaultModule,
  gcpKmsModule,
  pkcs11Module,
] as const;

/** The registry built from {@link KMS_MODULES}. */
export const kmsModules = new KmsModuleRegistry(KMS_MODULES);
