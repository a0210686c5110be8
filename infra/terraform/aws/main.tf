# The customer's side: a symmetric KMS key in YOUR account, usable by the BYOK key service only
# for your tenant. Disabling the key (or removing these statements) cuts the service off within
# the tenant's cache window.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "key" {
  # Keeps your account in control of the key (without it the key becomes unmanageable).
  statement {
    sid       = "EnableIamPolicies"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  # Wrap and unwrap tenant keys, only under this tenant's encryption context.
  statement {
    sid       = "ByokUseKeyForTenant"
    effect    = "Allow"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [var.service_role_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:tenant"
      values   = [var.tenant_id]
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
      identifiers = [var.service_role_arn]
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "BYOK customer key for tenant ${var.tenant_id}"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.alias_name}"
  target_key_id = aws_kms_key.this.key_id
}
