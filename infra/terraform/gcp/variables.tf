variable "project" {
  description = "Your Google Cloud project that holds the key."
  type        = string
}

variable "location" {
  description = "Cloud KMS location, e.g. europe-west1 or global."
  type        = string
}

variable "key_ring" {
  description = "Key ring to create."
  type        = string
  default     = "byok"
}

variable "key_name" {
  description = "CryptoKey to create."
  type        = string
  default     = "byok-tenant-cmk"
}

variable "service_account" {
  description = "Email of the BYOK key service's service account (from the operator, or GET /v1/tenants/{t}/cmk/policy?provider=gcp-kms)."
  type        = string
}

variable "rotation_period" {
  description = "Automatic rotation period of the key's primary version (old versions keep decrypting)."
  type        = string
  default     = "7776000s"
}
