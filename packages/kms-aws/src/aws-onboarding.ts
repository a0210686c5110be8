import { hclString, shellQuote, type OnboardingGrant } from '@byok/kms';
import type { AwsKeyRef } from './aws-key-ref.js';

/** Actions the service performs with a tenant key on every wrap and unwrap (all carry the encryption context). */
export const AWS_CONTEXT_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'] as const;

/** One statement of an AWS key policy. */
export interface AwsPolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string };
  Action: string | string[];
  Resource: '*';
  Condition?: { StringEquals: Record<string, string> };
}

/** The AWS grant: statements to add to the key policy, and a complete policy holding them. */
export type AwsKeyPolicyGrant = {
  kind: 'aws-key-policy';
  /** The statements to add to the key's policy. */
  statements: AwsPolicyStatement[];
  /** A complete key policy: the account's own admin statement plus ours (put-key-policy replaces the whole policy). */
  keyPolicy: { Version: '2012-10-17'; Statement: AwsPolicyStatement[] };
};

const AWS_ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/** True when `value` is an IAM role ARN (the only principal shape the service runs as). */
export function isAwsRoleArn(value: string): boolean {
  return AWS_ROLE_ARN.test(value);
}

/** A Terraform block label for this tenant (labels allow letters, digits, underscores and dashes). */
function label(tenantId: string): string {
  return `byok_${tenantId.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

// Same statements as infra/terraform/aws/main.tf, aimed at an existing key (looked up, so an alias works).
function terraform(tenantId: string, role: string, keyId: string, sid: string): string {
  const l = label(tenantId);
  return `data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_kms_key" "${l}" {
  key_id = ${hclString(keyId)}
}

data "aws_iam_policy_document" "${l}" {
  # Keeps your account in control of the key (without it the key becomes unmanageable).
  statement {
    sid       = "EnableIamPolicies"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:\${data.aws_partition.current.partition}:iam::\${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  # Wrap and unwrap tenant keys, only under this tenant's encryption context.
  statement {
    sid       = ${hclString(sid)}
    effect    = "Allow"
    actions   = [${AWS_CONTEXT_ACTIONS.map((a) => `"${a}"`).join(', ')}]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [${hclString(role)}]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:tenant"
      values   = [${hclString(tenantId)}]
    }
  }

  # DescribeKey carries no encryption context, so it cannot share the condition above.
  statement {
    sid       = "ByokDescribeKey"
    effect    = "Allow"
    actions   = ["kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [${hclString(role)}]
    }
  }
}

resource "aws_kms_key_policy" "${l}" {
  key_id = data.aws_kms_key.${l}.id
  policy = data.aws_iam_policy_document.${l}.json
}
`;
}

/** The key-policy grant letting `role` use the key for `tenantId` only; placeholders without `ref`. */
export function awsGrant(tenantId: string, role: string, ref: AwsKeyRef | undefined): OnboardingGrant {
  const sid = `ByokUseKeyForTenant${tenantId.replace(/[^A-Za-z0-9]/g, '')}`;
  const use: AwsPolicyStatement = {
    Sid: sid,
    Effect: 'Allow',
    Principal: { AWS: role },
    Action: [...AWS_CONTEXT_ACTIONS],
    Resource: '*',
    Condition: { StringEquals: { 'kms:EncryptionContext:tenant': tenantId } },
  };
  // DescribeKey carries no encryption context: under the tenant condition it would always be denied.
  const describe: AwsPolicyStatement = {
    Sid: 'ByokDescribeKey',
    Effect: 'Allow',
    Principal: { AWS: role },
    Action: 'kms:DescribeKey',
    Resource: '*',
  };
  const account = ref?.account ?? '<CUSTOMER_ACCOUNT_ID>';
  const partition = ref?.partition ?? 'aws';
  const admin: AwsPolicyStatement = {
    Sid: 'EnableIamPolicies',
    Effect: 'Allow',
    Principal: { AWS: `arn:${partition}:iam::${account}:root` },
    Action: 'kms:*',
    Resource: '*',
  };
  const keyPolicy = { Version: '2012-10-17' as const, Statement: [admin, use, describe] };
  const keyId = ref?.uri ?? '<KEY_ARN>';
  const region = ref ? ` --region ${ref.region}` : '';
  const grant: AwsKeyPolicyGrant = { kind: 'aws-key-policy', statements: [use, describe], keyPolicy };
  return {
    grant,
    cli: `aws kms put-key-policy${region} --key-id ${shellQuote(keyId)} --policy-name default --policy ${shellQuote(JSON.stringify(keyPolicy))}`,
    terraform: terraform(tenantId, role, keyId, sid),
    notes: [
      'put-key-policy replaces the whole key policy: merge the two statements into your existing policy if it has more than the account admin statement.',
      `The condition limits the service to encryption contexts of tenant ${tenantId}; every tenant key the service wraps carries {tenant, purpose, version}.`,
      'DescribeKey carries no encryption context, so it has its own statement without the condition (the key-health probe uses it).',
      'An alias ARN cannot be named in a key policy; the grant applies to the key the alias points to.',
    ],
  };
}
