# The customer's side: an RSA key in YOUR Key Vault and one role assignment scoped to that key,
# letting the BYOK key service get, wrap and unwrap with it and nothing else. Disabling the key
# (or deleting the role assignment) cuts the service off within the tenant's cache window.

resource "azurerm_key_vault_key" "this" {
  name         = var.key_name
  key_vault_id = var.key_vault_id
  key_type     = "RSA"
  key_size     = 3072
  key_opts     = ["wrapKey", "unwrapKey"]
}

resource "azurerm_role_assignment" "byok_service" {
  # Scope is the key, not the vault: the service can use no other key.
  scope = azurerm_key_vault_key.this.resource_versionless_id
  # Key Vault Crypto Service Encryption User
  role_definition_id = "/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6"
  principal_id       = var.service_principal_id
  principal_type     = "ServicePrincipal"
}
