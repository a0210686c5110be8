export * from './aws-error-mapper.js';
export * from './aws-kms-provider.js';
