output "crypto_key_name" {
  description = "Register this with PUT /v1/tenants/{tenantId}/cmk as {\"provider\":\"gcp-kms\",\"keyRef\":crypto_key_name}."
  value       = google_kms_crypto_key.this.id
}
