output "key_id" {
  description = "Register this with PUT /v1/tenants/{tenantId}/cmk as {\"provider\":\"azure-kv\",\"keyRef\":key_id}."
  value       = azurerm_key_vault_key.this.versionless_id
}
