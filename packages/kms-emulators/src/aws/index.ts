export * from './aws-kms-emulator.js';
export { AwsKmsEngine, AwsKmsFault, type AwsKeyState } from './aws-kms-engine.js';
export * from './sigv4.js';
