export * from './aws-error-mapper.js';
export * from './aws-key-ref.js';
export * from './aws-kms-module.js';
export * from './aws-kms-provider.js';
export * from './aws-onboarding.js';
