import type { KmsProviderModule } from '@byok/kms';
import { z } from 'zod';
import { AWS_PROVIDER, parseAwsKeyRef, type AwsKeyRef } from './aws-key-ref.js';
import { createAwsKmsProvider } from './aws-kms-provider.js';
import { awsGrant, isAwsRoleArn } from './aws-onboarding.js';

/** AWS settings: the SDK's own standard variables, and the role customers grant use of their key to. */
const AwsConfigSchema = z.object({
  AWS_REGION: z.string().optional().describe('default AWS region (a key ARN names its own region)'),
  AWS_ENDPOINT_URL_KMS: z.string().url().optional().describe('AWS KMS endpoint override (emulators)'),
  SERVICE_AWS_ROLE_ARN: z
    .string()
    .refine(isAwsRoleArn, 'expected an IAM role ARN: arn:aws:iam::ACCOUNT:role/NAME')
    .optional()
    .describe('IAM role the service runs as; customers grant it use of their AWS KMS key'),
});

/** Parsed AWS settings. */
export type AwsKmsConfig = z.infer<typeof AwsConfigSchema>;

/**
 * AWS KMS as a provider module. Without overrides the SDK's default credential chain is used;
 * `AWS_ENDPOINT_URL_KMS` points the same build at an emulator.
 */
export const awsKmsModule = {
  name: AWS_PROVIDER,
  title: 'AWS KMS',
  keyRefFormat: 'arn:aws:kms:REGION:ACCOUNT:key/KEY_ID or arn:aws:kms:REGION:ACCOUNT:alias/NAME',
  parseKeyRef: parseAwsKeyRef,
  configSchema: AwsConfigSchema,
  // An https endpoint override is legitimate (VPC or FIPS endpoints); plain http is an emulator.
  developmentSettings: (c: AwsKmsConfig) =>
    c.AWS_ENDPOINT_URL_KMS?.startsWith('http:')
      ? [{ variable: 'AWS_ENDPOINT_URL_KMS', why: 'a plain-http KMS endpoint' }]
      : [],
  create: (c: AwsKmsConfig) =>
    createAwsKmsProvider({
      ...(c.AWS_REGION ? { region: c.AWS_REGION } : {}),
      ...(c.AWS_ENDPOINT_URL_KMS ? { endpoint: c.AWS_ENDPOINT_URL_KMS } : {}),
    }),
  onboarding: {
    principal: (c: AwsKmsConfig) => c.SERVICE_AWS_ROLE_ARN,
    principalVariable: 'SERVICE_AWS_ROLE_ARN',
    grant: awsGrant,
  },
  health: true,
} satisfies KmsProviderModule<AwsKeyRef, AwsKmsConfig>;
