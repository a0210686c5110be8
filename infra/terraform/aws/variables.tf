variable "service_role_arn" {
  description = "IAM role the BYOK key service runs as (from the operator, or GET /v1/tenants/{t}/cmk/policy?provider=aws-kms)."
  type        = string
}

variable "tenant_id" {
  description = "Your tenant id in the BYOK key service; the key may only be used under this tenant's encryption context."
  type        = string
}

variable "alias_name" {
  description = "Alias for the key, without the alias/ prefix."
  type        = string
  default     = "byok-tenant-cmk"
}

variable "deletion_window_in_days" {
  description = "Waiting period before a scheduled deletion takes effect (7-30)."
  type        = number
  default     = 30
}
