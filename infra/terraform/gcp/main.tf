# The customer's side: a symmetric CryptoKey in YOUR project, and IAM bindings on that key only.
# Disabling the key version (or removing the binding) cuts the service off within the tenant's
# cache window.

resource "google_kms_key_ring" "this" {
  project  = var.project
  name     = var.key_ring
  location = var.location
}

resource "google_kms_crypto_key" "this" {
  name            = var.key_name
  key_ring        = google_kms_key_ring.this.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = var.rotation_period

  lifecycle {
    prevent_destroy = true
  }
}

# Encrypt and decrypt with this key only.
resource "google_kms_crypto_key_iam_member" "byok_use" {
  crypto_key_id = google_kms_crypto_key.this.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${var.service_account}"
}

# Lets the service's key-health probe read the key's state (no use of the key).
resource "google_kms_crypto_key_iam_member" "byok_read" {
  crypto_key_id = google_kms_crypto_key.this.id
  role          = "roles/cloudkms.viewer"
  member        = "serviceAccount:${var.service_account}"
}
