variable "key_vault_id" {
  description = "Resource id of your Key Vault; it must use the Azure RBAC permission model."
  type        = string
}

variable "key_name" {
  description = "Name of the key to create."
  type        = string
  default     = "byok-tenant-cmk"
}

variable "service_principal_id" {
  description = "Object id of the BYOK key service's service principal (from the operator, or GET /v1/tenants/{t}/cmk/policy?provider=azure-kv)."
  type        = string
}
