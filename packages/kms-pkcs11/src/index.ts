export { pkcs11Module } from './pkcs11-module.js';
export {
  PKCS11_KEY_REF_FORMAT,
  PKCS11_PROVIDER,
  encodePkcs11Value,
  parsePkcs11KeyRef,
  pkcs11Uri,
  type Pkcs11KeyRef,
} from './pkcs11-key-ref.js';
export {
  pkcs11ConfigSchema,
  pkcs11ModuleSettings,
  type Pkcs11Config,
  type Pkcs11ModuleSettings,
} from './pkcs11-config.js';
export {
  createPkcs11KmsProvider,
  type Pkcs11KmsProvider,
  type Pkcs11KmsProviderOptions,
} from './pkcs11-kms-provider.js';
export { mapPkcs11Error, type Pkcs11ErrorContext, type Pkcs11Step } from './pkcs11-error-mapper.js';
export {
  KEY_PLACEHOLDER,
  MODULE_PLACEHOLDER,
  PKCS11_KEY_TEMPLATE,
  TOKEN_PLACEHOLDER,
  pkcs11Grant,
  pkcs11Onboarding,
} from './pkcs11-onboarding.js';
export { PKCS11_BLOB_V1, decodePkcs11Blob, encodePkcs11Blob } from './pkcs11-wrapped-blob.js';
