output "key_arn" {
  description = "Register this with PUT /v1/tenants/{tenantId}/cmk as {\"provider\":\"aws-kms\",\"keyRef\":key_arn}."
  value       = aws_kms_key.this.arn
}
